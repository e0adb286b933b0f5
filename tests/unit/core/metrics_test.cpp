#include "core/metrics.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace rh::metrics {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(Metrics, CounterWithLabelsRendersHelpTypeAndValue) {
  Registry r;
  r.counter("rh_requests_total", "Requests served", {{"route", "/a"}, {"status", "200"}}).inc();
  r.counter("rh_requests_total", "Requests served", {{"route", "/a"}, {"status", "200"}}).inc(2);
  r.counter("rh_requests_total", "Requests served", {{"route", "/b"}, {"status", "500"}}).inc();
  std::string out = r.render();
  EXPECT_TRUE(has_line(out, "# HELP rh_requests_total Requests served")) << out;
  EXPECT_TRUE(has_line(out, "# TYPE rh_requests_total counter")) << out;
  EXPECT_TRUE(has_line(out, "rh_requests_total{route=\"/a\",status=\"200\"} 3")) << out;
  EXPECT_TRUE(has_line(out, "rh_requests_total{route=\"/b\",status=\"500\"} 1")) << out;
  // One HELP/TYPE block per family, however many label sets it has.
  EXPECT_EQ(out.find("# TYPE rh_requests_total"), out.rfind("# TYPE rh_requests_total"));
}

TEST(Metrics, SameNameAndLabelsIsTheSameCounter) {
  Registry r;
  Counter& a = r.counter("c_total", "h");
  Counter& b = r.counter("c_total", "h");
  EXPECT_EQ(&a, &b);
  a.inc();
  EXPECT_EQ(b.value(), 1u);
}

TEST(Metrics, OneNameCannotHaveTwoTypes) {
  Registry r;
  r.counter("x", "h");
  EXPECT_THROW(r.gauge("x", "h"), std::logic_error);
}

TEST(Metrics, GaugeRendersIntegersAndFractions) {
  Registry r;
  r.gauge("rh_whole", "w").set(42);
  Gauge& g = r.gauge("rh_frac", "f");
  g.set(1.25);
  g.add(-0.5);
  std::string out = r.render();
  EXPECT_TRUE(has_line(out, "# TYPE rh_whole gauge")) << out;
  EXPECT_TRUE(has_line(out, "rh_whole 42")) << out;
  EXPECT_TRUE(has_line(out, "rh_frac 0.75")) << out;
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  Histogram& h = r.histogram("rh_latency_seconds", "Latency", {{"route", "/x"}}, {0.25, 0.5, 1});
  h.observe(0.125);
  h.observe(0.25);  // on the bound: counts in le="0.25"
  h.observe(0.375);
  h.observe(7);
  std::string out = r.render();
  EXPECT_TRUE(has_line(out, "# TYPE rh_latency_seconds histogram")) << out;
  EXPECT_TRUE(has_line(out, "rh_latency_seconds_bucket{route=\"/x\",le=\"0.25\"} 2")) << out;
  EXPECT_TRUE(has_line(out, "rh_latency_seconds_bucket{route=\"/x\",le=\"0.5\"} 3")) << out;
  EXPECT_TRUE(has_line(out, "rh_latency_seconds_bucket{route=\"/x\",le=\"1\"} 3")) << out;
  EXPECT_TRUE(has_line(out, "rh_latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4")) << out;
  EXPECT_TRUE(has_line(out, "rh_latency_seconds_sum{route=\"/x\"} 7.75")) << out;
  EXPECT_TRUE(has_line(out, "rh_latency_seconds_count{route=\"/x\"} 4")) << out;
  EXPECT_EQ(h.count(), 4u);
}

TEST(Metrics, HistogramWithoutLabels) {
  Registry r;
  r.histogram("rh_h", "h", {}, {1}).observe(2);
  std::string out = r.render();
  EXPECT_TRUE(has_line(out, "rh_h_bucket{le=\"1\"} 0")) << out;
  EXPECT_TRUE(has_line(out, "rh_h_bucket{le=\"+Inf\"} 1")) << out;
  EXPECT_TRUE(has_line(out, "rh_h_sum 2")) << out;
  EXPECT_TRUE(has_line(out, "rh_h_count 1")) << out;
}

TEST(Metrics, CollectorSamplesAreRenderedAtScrapeTime) {
  Registry r;
  int depth = 3;
  r.add_collector([&depth]() -> std::vector<Sample> {
    return {{"rh_queue_depth",
             "Jobs waiting",
             "gauge",
             {{"state", "queued"}},
             static_cast<double>(depth)},
            {"rh_queue_depth", "Jobs waiting", "gauge", {{"state", "dead"}}, 0}};
  });
  std::string out = r.render();
  EXPECT_TRUE(has_line(out, "# HELP rh_queue_depth Jobs waiting")) << out;
  EXPECT_TRUE(has_line(out, "# TYPE rh_queue_depth gauge")) << out;
  EXPECT_TRUE(has_line(out, "rh_queue_depth{state=\"queued\"} 3")) << out;
  EXPECT_TRUE(has_line(out, "rh_queue_depth{state=\"dead\"} 0")) << out;
  depth = 9;
  EXPECT_TRUE(has_line(r.render(), "rh_queue_depth{state=\"queued\"} 9"));
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(render_labels({}), "");
  EXPECT_EQ(render_labels({{"a", "x\"y\\z\nw"}}), "{a=\"x\\\"y\\\\z\\nw\"}");
}

TEST(Metrics, LatencyBucketsAreSorted) {
  auto b = latency_buckets();
  ASSERT_FALSE(b.empty());
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
  EXPECT_DOUBLE_EQ(b.front(), 0.0005);
  EXPECT_DOUBLE_EQ(b.back(), 10);
}

}  // namespace
}  // namespace rh::metrics
