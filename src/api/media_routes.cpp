// MMS media over HTTP: a user uploads a medium (the raw bytes as the body)
// to attach to messages and reads back what they own or were sent; carriers
// fetch outbound media from signed, expiring URLs without credentials.
// Media are served with the type sniffed on upload, never sniffed again by
// the browser, and never rendered as a page of our origin.
#include <fmt/format.h>

#include <boost/json.hpp>

#include "api/handlers.hpp"
#include "core/clock.hpp"
#include "messaging/media.hpp"

namespace rh::api {

namespace {

json::object media_json(const messaging::Media& m) {
  return {{"id", m.id},
          {"content_type", m.content_type},
          {"size", m.size},
          {"sha256", m.sha256},
          {"created_at", format_rfc3339(m.created_at)},
          {"url", "/v1/media/" + m.id}};
}

// 413 and 415 for what the store refuses by size and type; the rest as usual.
Response media_problem(const Error& e, const std::string& request_id) {
  if (e.reason == "media_too_large")
    return problem(413, "media_too_large", "Media too large", e.message);
  if (e.reason == "unsupported_media_type" || e.reason == "media_type_mismatch")
    return problem(415, e.reason, "Unsupported media type", e.message);
  return problem_from_error(e, request_id);
}

Response media_body(std::string bytes, const std::string& type, const char* cache) {
  Response r = http::text_response(200, std::move(bytes), type);
  r.set("X-Content-Type-Options", "nosniff");
  // Pictures may show in the page; anything else is a download.
  r.set(http::bhttp::field::content_disposition,
        type.rfind("image/", 0) == 0 ? "inline" : "attachment");
  r.set("Content-Security-Policy", "default-src 'none'; sandbox");
  r.set(http::bhttp::field::cache_control, cache);
  return r;
}

awaitable<Response> upload_media(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  std::string declared(ctx.header("Content-Type"));
  auto m = co_await offload(d.pool, [&] { return d.media.upload(self, ctx.req.body(), declared); });
  if (!m) co_return media_problem(m.error(), ctx.request_id);
  Response r = json_response(201, media_json(*m));
  r.set(http::bhttp::field::location, "/v1/media/" + m->id);
  co_return r;
}

awaitable<Response> get_media(ApiDeps& d, RequestContext& ctx) {
  auto self = self_scope(ctx);
  auto r = co_await offload(d.pool, [&]() -> Result<std::pair<messaging::Media, std::string>> {
    RH_ASSIGN(auto m, d.media.get(self, ctx.param("id")));
    RH_ASSIGN(auto bytes, d.media.read(m.id));
    return std::make_pair(std::move(m), std::move(bytes));
  });
  if (!r) co_return problem_from_error(r.error(), ctx.request_id);
  // A medium never changes: the browser may keep it, shared caches may not.
  co_return media_body(std::move(r->second), r->first.content_type, "private, max-age=86400");
}

// Whatever the id: without a signature, 404 (nothing is here for an unsigned
// request); with a bad or expired one, 403. Neither says whether the id exists.
awaitable<Response> get_signed_media(ApiDeps& d, RequestContext& ctx) {
  auto denied = [] {
    return problem(403, "bad_signature", "Forbidden", "the link is not valid or has expired");
  };
  std::string id = ctx.param("id");
  auto exp = ctx.query_param("exp");
  auto sig = ctx.query_param("sig");
  if (!exp && !sig)
    co_return problem(404, "not_found", "Not found", "media links carry exp and sig");
  if (!d.media.verify_signed(id, exp.value_or(""), sig.value_or(""), d.clock.now_ms() / 1000))
    co_return denied();
  auto r = co_await offload(d.pool, [&]() -> Result<std::pair<std::string, std::string>> {
    RH_ASSIGN(auto bytes, d.media.read(id));
    // The row keeps the sniffed type; read it back from the bytes.
    std::string type = messaging::sniff_media_type(bytes);
    if (type.empty()) type = "application/octet-stream";
    return std::make_pair(std::move(bytes), std::move(type));
  });
  if (!r) {
    if (r.error().code == Errc::not_found) co_return denied();
    co_return problem_from_error(r.error(), ctx.request_id);
  }
  co_return media_body(std::move(r->first), r->second, "private, no-store");
}

}  // namespace

void register_media_routes(const AddRoute& add, std::size_t max_upload_bytes) {
  add(Verb::post, "/v1/media", upload_media, user("messages:write"),
      "Upload a medium (picture, clip, voice note, vCard, PDF) to attach to messages",
      max_upload_bytes);
  add(Verb::get, "/v1/media/{id}", get_media, user("messages:read"),
      "Download a medium one owns or was sent");
  add(Verb::get, "/media/{id}", get_signed_media, anyone(),
      "Download a medium through a signed, expiring link (carriers fetching MMS media)");
}

}  // namespace rh::api
