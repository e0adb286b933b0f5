// Messaging over HTTP: send (Idempotency-Key), conversations and their
// messages, read state, deletion, search, the live segment counter; staff
// set the destination allow-list and see the SMPP binds; carriers post
// inbound messages and statuses to /hooks/{carrier}.
#include <fmt/format.h>

#include <boost/json.hpp>

#include "api/handlers.hpp"
#include "api/json_views.hpp"
#include "core/clock.hpp"
#include "messaging/encoding.hpp"
#include "messaging/hooks.hpp"
#include "messaging/service.hpp"
#include "messaging/smpp/gateway.hpp"

namespace rh::api {

namespace {

json::object delivery_json(const messaging::Delivery& d) {
  json::object o{{"recipient", d.recipient},      {"status", d.status},
                 {"on_net", d.route == "on-net"}, {"attempts", d.attempts},
                 {"cost_micros", d.cost_micros},  {"updated_at", format_rfc3339(d.updated_at)}};
  o["error"] = d.error_code.empty()
                   ? json::value(nullptr)
                   : json::value(json::object{{"code", d.error_code}, {"detail", d.error_detail}});
  return o;
}

json::object message_json(const messaging::Message& m) {
  json::object o{{"id", m.id},
                 {"conversation_id", m.conversation_id},
                 {"direction", m.direction},
                 {"from", m.from},
                 {"to", string_array(m.to)},
                 {"text", m.text},
                 {"media", string_array(m.media)},
                 {"kind", m.kind},
                 {"encoding", m.encoding},
                 {"segments", m.segments},
                 {"status", m.status},
                 {"cost_micros", m.cost_micros},
                 {"read", m.direction == "outbound" || m.read_at > 0},
                 {"read_at", time_or_null(m.read_at)},
                 {"created_at", format_rfc3339(m.created_at)},
                 {"updated_at", format_rfc3339(m.updated_at)}};
  o["error"] = m.error_code.empty()
                   ? json::value(nullptr)
                   : json::value(json::object{{"code", m.error_code}, {"detail", m.error_detail}});
  if (m.direction == "outbound" && !m.deliveries.empty()) {
    json::array d;
    for (const auto& x : m.deliveries) d.push_back(delivery_json(x));
    o["deliveries"] = std::move(d);
  }
  return o;
}

json::object conversation_json(const messaging::Conversation& c) {
  return json::object{
      {"id", c.id},
      {"local_number", c.local_number},
      {"participants", string_array(c.participants)},
      {"group", c.group},
      {"unread_count", c.unread},
      {"last_message",
       c.last_message_id.empty()
           ? json::value(nullptr)
           : json::value(json::object{{"id", c.last_message_id},
                                      {"preview", c.last_preview},
                                      {"direction", c.last_direction},
                                      {"created_at", format_rfc3339(c.last_message_at)}})},
      {"created_at", format_rfc3339(c.created_at)}};
}

awaitable<Response> send_message(ApiDeps& d, RequestContext& ctx) {
  auto body = http::read_json_object(ctx.req);
  if (body.error) co_return std::move(*body.error);
  http::FieldReader f(*body.object);
  f.reject_unknown({"from", "to", "text", "media"});
  messaging::SendRequest r;
  auto from = f.string("from");
  if (!from) f.problems().push_back({"from", "is required"});
  // `to` is one number or a list of them.
  if (auto it = body.object->find("to"); it != body.object->end() && it->value().is_string()) {
    r.to.emplace_back(it->value().as_string());
  } else if (auto list = f.string_list("to")) {
    r.to = *list;
  } else if (it == body.object->end()) {
    f.problems().push_back({"to", "is required"});
  }
  r.text = f.string("text").value_or("");
  r.media = f.string_list("media").value_or(std::vector<std::string>{});
  if (!f.problems().empty()) co_return http::validation_problem(f.problems());
  r.from = *from;
  r.idempotency_key = std::string(ctx.header("Idempotency-Key"));
  auto self = self_scope(ctx);
  auto o = co_await offload(d.message_pool ? *d.message_pool : d.pool,
                            [&] { return d.messages.send(self, r); });
  if (!o) co_return problem_from_error(o.error(), ctx.request_id);
  Response resp = json_response(o->replayed ? 200 : 201, message_json(o->message));
  resp.set("Idempotency-Replayed", o->replayed ? "true" : "false");
  resp.set(http::bhttp::field::location, "/v1/messages/" + o->message.id);
  co_return resp;
}

// A page of messages, newest first: every conversation's (search) or one's.
awaitable<Response> messages_page(ApiDeps& d, RequestContext& ctx, std::string conversation_id) {
  Response err;
  auto page = http::read_page(ctx, 50, 200, err);
  if (!page) co_return err;
  messaging::MessageQuery q;
  q.conversation_id = std::move(conversation_id);
  q.q = ctx.query_param("q").value_or("");
  q.participant = ctx.query_param("participant").value_or("");
  q.after = page->after;
  q.limit = page->limit;
  auto self = self_scope(ctx);
  auto r = co_await offload(d.pool, [&] { return d.messages.messages(self, q); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return page_response(*r, page->limit, [](const auto& x) { return message_json(x); });
}

awaitable<Response> list_messages(ApiDeps& d, RequestContext& ctx) {
  co_return co_await messages_page(d, ctx, "");
}

awaitable<Response> get_message(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto m = co_await offload(d.pool, [&] { return d.messages.get_message(self, ctx.param("id")); });
  if (!m) co_return problem_from_error(m.error(), ctx.request_id);
  co_return json_response(200, message_json(*m));
}

awaitable<Response> delete_message(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto st =
      co_await offload(d.pool, [&] { return d.messages.delete_message(self, ctx.param("id")); });
  if (!st) co_return problem_from_error(st.error(), ctx.request_id);
  co_return http::no_content();
}

awaitable<Response> list_conversations(ApiDeps& d, RequestContext& ctx) {
  Response err;
  auto page = http::read_page(ctx, 50, 200, err);
  if (!page) co_return err;
  messaging::ConversationQuery q;
  q.q = ctx.query_param("q").value_or("");
  q.participant = ctx.query_param("participant").value_or("");
  q.after = page->after;
  q.limit = page->limit;
  auto self = self_scope(ctx);
  auto r = co_await offload(d.pool, [&] { return d.messages.conversations(self, q); });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  co_return page_response(*r, page->limit, [](const auto& x) { return conversation_json(x); });
}

awaitable<Response> get_conversation(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto c = co_await offload(d.pool, [&] { return d.messages.conversation(self, ctx.param("id")); });
  if (!c) co_return problem_from_error(c.error(), ctx.request_id);
  co_return json_response(200, conversation_json(*c));
}

awaitable<Response> conversation_messages(ApiDeps& d, RequestContext& ctx) {
  co_return co_await messages_page(d, ctx, std::string(ctx.param("id")));
}

awaitable<Response> mark_read(ApiDeps& d, RequestContext& ctx) {
  std::string up_to;
  if (!ctx.req.body().empty()) {
    auto body = http::read_json_object(ctx.req);
    if (body.error) co_return std::move(*body.error);
    http::FieldReader f(*body.object);
    f.reject_unknown({"up_to"});
    up_to = f.string("up_to").value_or("");
    if (!f.problems().empty()) co_return http::validation_problem(f.problems());
  }
  auto self = self_scope(ctx);
  auto c =
      co_await offload(d.pool, [&] { return d.messages.mark_read(self, ctx.param("id"), up_to); });
  if (!c) co_return problem_from_error(c.error(), ctx.request_id);
  co_return json_response(200, conversation_json(*c));
}

awaitable<Response> delete_conversation(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto st = co_await offload(d.pool,
                             [&] { return d.messages.delete_conversation(self, ctx.param("id")); });
  if (!st) co_return problem_from_error(st.error(), ctx.request_id);
  co_return http::no_content();
}

// The live counter: what the server will count for a text.
awaitable<Response> count_segments(ApiDeps& d, RequestContext& ctx) {
  auto body = http::read_json_object(ctx.req);
  if (body.error) co_return std::move(*body.error);
  http::FieldReader f(*body.object);
  f.reject_unknown({"text"});
  auto text = f.string("text");
  if (!text) f.problems().push_back({"text", "is required"});
  if (!f.problems().empty()) co_return http::validation_problem(f.problems());
  messaging::SegmentOptions so;
  so.max_segments = d.messages.options().max_segments;
  auto s = messaging::count_segments(*text, so);
  if (!s) co_return problem_from_error(s.error(), ctx.request_id);
  co_return json_response(200, json::object{{"encoding", messaging::encoding_name(s->encoding)},
                                            {"segments", s->segments},
                                            {"characters", s->characters},
                                            {"units", s->units},
                                            {"units_per_segment", s->units_per_segment},
                                            {"units_remaining", s->units_remaining},
                                            {"max_segments", so.max_segments},
                                            {"too_long", s->exceeds_max_segments}});
}

awaitable<Response> get_settings(ApiDeps& d, RequestContext& ctx) {
  co_return co_await get_allow_list(
      d, ctx, [&](const std::string& t) { return d.messages.allowed_countries(t); });
}

awaitable<Response> put_settings(ApiDeps& d, RequestContext& ctx) {
  co_return co_await put_allow_list(
      d, ctx, [&](const std::string& t, const std::vector<std::string>& c) {
        return d.messages.set_allowed_countries(t, c);
      });
}

json::object bind_json(const messaging::smpp::BindStatus& b) {
  json::array sessions;
  for (const auto& s : b.sessions) {
    const auto& c = s.counters;
    sessions.push_back(json::object{
        {"id", s.id},
        {"state", s.state},
        {"max_per_second", s.max_per_second},
        {"configured_max_per_second", s.configured_max_per_second},
        {"bound_since",
         s.bound_since_ms ? json::value(format_rfc3339(*s.bound_since_ms)) : json::value(nullptr)},
        {"last_error", s.last_error},
        {"counters", json::object{{"submitted", c.submitted},
                                  {"acked", c.acked},
                                  {"rejected", c.rejected},
                                  {"throttled", c.throttled},
                                  {"timed_out", c.timed_out},
                                  {"outstanding", c.outstanding},
                                  {"queued", c.queued},
                                  {"delivered", c.delivered},
                                  {"binds", c.binds},
                                  {"bind_failures", c.bind_failures}}}});
  }
  return json::object{
      {"id", b.id}, {"route", b.route}, {"mode", b.mode}, {"sessions", std::move(sessions)}};
}

awaitable<Response> list_binds(ApiDeps& d, RequestContext&) {
  json::array out;
  if (d.smpp) {
    for (const auto& b : d.smpp->status()) out.push_back(bind_json(b));
  }
  co_return json_response(200, json::object{{"data", std::move(out)}});
}

awaitable<Response> carrier_hook(ApiDeps& d, RequestContext& ctx) {
  messaging::HookRequest h;
  h.carrier = ctx.param("carrier");
  h.method = std::string(ctx.req.method_string());
  h.url = d.public_url + std::string(ctx.req.target());
  for (const auto& field : ctx.req) {
    std::string name(field.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    h.headers[name] = std::string(field.value());
  }
  h.body = ctx.req.body();
  auto r = co_await offload(d.provider_pool, [&] { return d.hooks.handle(h); });
  if (!r) {
    if (r.error().reason == "challenge") {
      Response resp = problem_from_error(r.error(), ctx.request_id);
      resp.set(http::bhttp::field::www_authenticate, "Basic realm=\"\"");
      co_return resp;
    }
    co_return problem_from_error(r.error(), ctx.request_id);
  }
  co_return json_response(
      200, json::object{
               {"accepted", r->accepted}, {"duplicates", r->duplicates}, {"ignored", r->ignored}});
}

}  // namespace

void register_message_routes(const AddRoute& add) {
  add(Verb::post, "/v1/messages", send_message, user("messages:write"),
      "Send an SMS or MMS (Idempotency-Key required)");
  add(Verb::get, "/v1/messages", list_messages, user("messages:read"),
      "Search messages by text and participant");
  add(Verb::post, "/v1/messages/segments", count_segments, user(),
      "Count the segments of a text as carriers do");
  add(Verb::get, "/v1/messages/{id}", get_message, user("messages:read"),
      "A message with its delivery status per recipient");
  add(Verb::delete_, "/v1/messages/{id}", delete_message, user("messages:write"),
      "Delete a message for oneself");
  add(Verb::get, "/v1/conversations", list_conversations, user("messages:read"),
      "Conversations, most recent first");
  add(Verb::get, "/v1/conversations/{id}", get_conversation, user("messages:read"),
      "A conversation");
  add(Verb::get, "/v1/conversations/{id}/messages", conversation_messages, user("messages:read"),
      "A conversation's messages, newest first");
  add(Verb::post, "/v1/conversations/{id}/read", mark_read, user("messages:write"),
      "Mark a conversation read");
  add(Verb::delete_, "/v1/conversations/{id}", delete_conversation, user("messages:write"),
      "Delete a conversation for oneself");
  add(Verb::get, "/v1/admin/messaging/settings", get_settings, staff(Role::tenant_admin),
      "A tenant's messaging settings");
  add(Verb::put, "/v1/admin/messaging/settings", put_settings, staff(Role::tenant_admin),
      "Set a tenant's destination allow-list");
  add(Verb::get, "/v1/admin/smpp-binds", list_binds, staff(Role::platform_admin),
      "SMPP binds and their state");
  add(Verb::post, "/hooks/{carrier}", carrier_hook, anyone(),
      "Inbound messages and status callbacks from a carrier", 2u << 20);
}

}  // namespace rh::api
