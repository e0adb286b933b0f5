// The signed-in user's live feed: GET /v1/events, a long poll over the
// outbox. Events that belong to the user (appended with their user_id:
// messages, calls, numbers, balance, plan) are read by seq; with nothing new,
// the request waits, re-reading the database every kPollInterval (so that an
// event committed by another API node sharing the database is seen too)
// without holding a blocking-pool thread between reads.
#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>

#include "api/handlers.hpp"
#include "jobs/outbox.hpp"

namespace rh::api {

namespace {

namespace asio = boost::asio;

constexpr auto kPollInterval = std::chrono::milliseconds(250);
constexpr int kMaxWaitSeconds = 25;
constexpr std::size_t kMaxTypes = 20;

Response bad_parameter(std::string_view detail) {
  return problem(400, "bad_parameter", "Bad query parameter", detail);
}

json::object user_event_json(const jobs::Event& e) {
  boost::system::error_code ec;
  json::value data = json::parse(e.payload, ec);
  if (ec || !data.is_object()) data = json::object{};
  return {{"id", e.id},
          {"type", e.type},
          {"created_at", format_rfc3339(e.created_at)},
          {"data", std::move(data)}};
}

awaitable<Response> user_events(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto page = http::read_page(ctx, 100, 200, err);
  if (!page) co_return err;
  int wait_s = 20;
  if (auto w = ctx.query_param("wait")) {
    auto [p, ec] = std::from_chars(w->data(), w->data() + w->size(), wait_s);
    if (ec != std::errc() || p != w->data() + w->size() || wait_s < 0 || wait_s > kMaxWaitSeconds)
      co_return bad_parameter(
          fmt::format("wait must be a whole number of seconds from 0 to {}", kMaxWaitSeconds));
  }
  jobs::UserEventQuery q;
  q.limit = page->limit;
  if (auto types = ctx.query_param("types")) {
    std::string_view rest = *types;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view t = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (t.empty() || t.size() > 100)
        co_return bad_parameter("types must be a comma-separated list of event types");
      q.types.emplace_back(t);
    }
    if (q.types.size() > kMaxTypes)
      co_return bad_parameter(fmt::format("types may name at most {} types", kMaxTypes));
  }
  if (page->after.empty()) {
    // A client starts "from now": no backlog, just where to continue.
    auto end = co_await offload(d.pool, [&] { return jobs::last_event_seq(d.db); });
    if (!end) co_return problem_from_error(end.error(), ctx.request_id);
    co_return json_response(200, page_json({}, jobs::event_cursor(*end)));
  }
  auto after = jobs::parse_event_cursor(page->after);
  if (!after) co_return bad_parameter("after is not a cursor from this route's `next`");
  q.after_seq = *after;

  const auto self = self_scope(ctx);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const std::int64_t settle_ms = jobs::event_settle_ms(d.db);
  for (;;) {
    if (settle_ms > 0) q.created_before_ms = d.clock.now_ms() - settle_ms;
    auto r = co_await offload(d.pool, [&] { return jobs::list_user_events(d.db, self, q); });
    if (!r) co_return problem_from_error(r.error(), ctx.request_id);
    auto left = deadline - std::chrono::steady_clock::now();
    if (!r->empty() || left <= decltype(left)::zero() || (d.draining && d.draining())) {
      json::array arr;
      for (const auto& e : *r) arr.push_back(user_event_json(e));
      co_return json_response(
          200,
          page_json(std::move(arr), jobs::event_cursor(r->empty() ? q.after_seq : r->back().seq)));
    }
    timer.expires_after(std::min<std::chrono::steady_clock::duration>(left, kPollInterval));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace

void register_event_routes(const AddRoute& add) {
  add(Verb::get, "/v1/events", user_events, user("events:read"),
      "Your live events (long poll): new messages, calls, numbers, balance");
}

}  // namespace rh::api
