#include "core/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace rh::metrics {

void Gauge::add(double d) {
  double cur = v_.load(std::memory_order_relaxed);
  while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::observe(double v) {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

std::vector<std::uint64_t> Histogram::cumulative() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    out[i] = acc;
  }
  return out;
}

double Histogram::sum() const {
  return sum_.load(std::memory_order_relaxed);
}
std::uint64_t Histogram::count() const {
  return cumulative().back();
}

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

namespace {
std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (v == static_cast<double>(static_cast<long long>(v)) && v < 1e15 && v > -1e15)
    return std::to_string(static_cast<long long>(v));
  return fmt::format("{}", v);
}

std::string with_label(const std::string& base, const std::string& extra) {
  if (base.empty()) return "{" + extra + "}";
  return base.substr(0, base.size() - 1) + "," + extra + "}";
}
}  // namespace

std::string render_labels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ",";
    out += labels[i].first + "=\"" + escape_label(labels[i].second) + "\"";
  }
  return out + "}";
}

Registry::Family& Registry::family(const std::string& name, const std::string& help,
                                   const char* type) {
  auto& f = families_[name];
  if (f.type.empty()) {
    f.help = help;
    f.type = type;
  } else if (f.type != type) {
    throw std::logic_error("metric registered with two types: " + name);
  }
  return f;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lk(mu_);
  auto& slot = family(name, help, "counter").counters[render_labels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lk(mu_);
  auto& slot = family(name, help, "gauge").gauges[render_labels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               const Labels& labels, const std::vector<double>& bounds) {
  std::lock_guard lk(mu_);
  auto& slot = family(name, help, "histogram").histograms[render_labels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

void Registry::add_collector(std::function<std::vector<Sample>()> fn) {
  std::lock_guard lk(mu_);
  collectors_.push_back(std::move(fn));
}

std::string Registry::render() const {
  std::vector<std::function<std::vector<Sample>()>> collectors;
  std::string out;
  {
    std::lock_guard lk(mu_);
    collectors = collectors_;
    for (const auto& [name, f] : families_) {
      out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, f.help, name, f.type);
      for (const auto& [l, c] : f.counters) out += fmt::format("{}{} {}\n", name, l, c->value());
      for (const auto& [l, g] : f.gauges)
        out += fmt::format("{}{} {}\n", name, l, format_value(g->value()));
      for (const auto& [l, h] : f.histograms) {
        auto cum = h->cumulative();
        for (std::size_t i = 0; i < h->bounds().size(); ++i) {
          out += fmt::format("{}_bucket{} {}\n", name,
                             with_label(l, "le=\"" + format_value(h->bounds()[i]) + "\""), cum[i]);
        }
        out += fmt::format("{}_bucket{} {}\n", name, with_label(l, "le=\"+Inf\""), cum.back());
        out += fmt::format("{}_sum{} {}\n", name, l, format_value(h->sum()));
        out += fmt::format("{}_count{} {}\n", name, l, cum.back());
      }
    }
  }
  // Collectors run outside the lock: they may query the database.
  std::map<std::string, std::vector<Sample>> extra;
  for (const auto& fn : collectors) {
    for (auto& s : fn()) extra[s.name].push_back(std::move(s));
  }
  for (const auto& [name, samples] : extra) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, samples.front().help, name,
                       samples.front().type);
    for (const auto& s : samples) {
      out += fmt::format("{}{} {}\n", name, render_labels(s.labels), format_value(s.value));
    }
  }
  return out;
}

}  // namespace rh::metrics
