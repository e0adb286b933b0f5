#include "core/log.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>

namespace rh::log {

namespace {
std::mutex g_mu;
std::vector<spdlog::sink_ptr> g_sinks;
std::shared_ptr<spdlog::logger> g_access;
spdlog::level::level_enum g_level = spdlog::level::info;
bool g_access_off = false;
std::string g_pattern = "%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ [%n] %v";

void ensure_sinks() {
  if (g_sinks.empty()) g_sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
}
}  // namespace

void setup(const Options& o) {
  std::lock_guard lk(g_mu);
  g_level = spdlog::level::from_str(o.level);
  if (o.format == "json") {
    g_pattern = R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","msg":"%v"})";
  }
  spdlog::set_pattern(g_pattern, spdlog::pattern_time_type::utc);
  g_sinks.clear();
  ensure_sinks();
  spdlog::init_thread_pool(8192, 1);
  if (o.access_log == "off") {
    g_access_off = true;
  } else {
    spdlog::sink_ptr sink;
    if (o.access_log == "stdout") {
      // Not stdout_sink, which flushes after every line (a write(2) per
      // request); this one flushes when its buffer fills and every second.
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>("/dev/stdout");
    } else {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(o.access_log);
    }
    // The access log goes through the async queue so that it never blocks an
    // I/O thread; when the queue is full the oldest line is dropped.
    g_access = std::make_shared<spdlog::async_logger>(
        "access", sink, spdlog::thread_pool(), spdlog::async_overflow_policy::overrun_oldest);
    g_access->set_pattern("%v");
    g_access->set_level(spdlog::level::info);
    spdlog::register_logger(g_access);  // so that flush_every() flushes it too
  }
  spdlog::flush_every(std::chrono::seconds(1));
}

std::shared_ptr<spdlog::logger> get(const std::string& name) {
  if (auto l = spdlog::get(name)) return l;
  std::lock_guard lk(g_mu);
  if (auto l = spdlog::get(name)) return l;
  ensure_sinks();
  auto l = std::make_shared<spdlog::logger>(name, g_sinks.begin(), g_sinks.end());
  l->set_pattern(g_pattern, spdlog::pattern_time_type::utc);
  l->set_level(g_level);
  l->flush_on(spdlog::level::warn);
  spdlog::register_logger(l);
  return l;
}

std::shared_ptr<spdlog::logger> access() {
  std::lock_guard lk(g_mu);
  return g_access_off ? nullptr : g_access;
}

void flush() {
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
  std::shared_ptr<spdlog::logger> a;
  {
    std::lock_guard lk(g_mu);
    a = g_access;
  }
  // The access logger is asynchronous: flush() queues a flush behind the
  // lines already queued, so nothing accepted before shutdown is lost.
  if (a) a->flush();
}

}  // namespace rh::log
