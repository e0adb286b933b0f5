#include "api/json_views.hpp"

#include <boost/json.hpp>

#include "core/clock.hpp"

namespace rh::api {

namespace json = boost::json;

json::value time_or_null(const std::optional<std::int64_t>& ms) {
  if (!ms) return nullptr;
  return json::value(format_rfc3339(*ms));
}
json::value time_or_null(std::int64_t ms) {
  return time_or_null(ms == 0 ? std::nullopt : std::optional<std::int64_t>(ms));
}
json::array string_array(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

namespace {
json::value parsed(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return json::value(text);
  return v;
}
json::value str_or_null(const std::string& s) {
  if (s.empty()) return nullptr;
  return json::value(s);
}
}  // namespace

json::object branding_json(const accounts::Tenant& t) {
  const auto& b = t.branding;
  return {{"tenant_id", t.id},
          {"slug", t.slug},
          {"name", t.brand_name()},
          {"logo_url", str_or_null(b.logo_url)},
          {"primary_color", b.primary_color},
          {"accent_color", b.accent_color},
          {"support_email", str_or_null(b.support_email)},
          {"support_url", str_or_null(b.support_url)},
          {"terms_url", str_or_null(b.terms_url)},
          {"privacy_url", str_or_null(b.privacy_url)},
          {"default_country", t.default_country},
          {"currency", t.currency}};
}

json::object tenant_json(const accounts::Tenant& t) {
  const auto& b = t.branding;
  json::array hosts;
  for (const auto& h : t.hostnames) hosts.push_back(json::value(h));
  return {{"id", t.id},
          {"slug", t.slug},
          {"name", t.name},
          {"status", t.status},
          {"is_default", t.is_default},
          {"default_country", t.default_country},
          {"currency", t.currency},
          {"hostnames", std::move(hosts)},
          {"branding", json::object{{"display_name", b.display_name},
                                    {"logo_url", b.logo_url},
                                    {"primary_color", b.primary_color},
                                    {"accent_color", b.accent_color},
                                    {"support_email", b.support_email},
                                    {"support_url", b.support_url},
                                    {"terms_url", b.terms_url},
                                    {"privacy_url", b.privacy_url}}},
          {"limits", json::object{{"max_numbers_per_user", t.limits.max_numbers_per_user},
                                  {"max_devices_per_user", t.limits.max_devices_per_user},
                                  {"max_messages_per_day", t.limits.max_messages_per_day}}},
          {"created_at", format_rfc3339(t.created_at)},
          {"updated_at", format_rfc3339(t.updated_at)}};
}

json::object job_json(const jobs::Job& j) {
  return {{"id", j.id},
          {"kind", j.kind},
          {"payload", parsed(j.payload)},
          {"state", j.state},
          {"priority", j.priority},
          {"attempts", j.attempts},
          {"max_attempts", j.max_attempts},
          {"run_at", format_rfc3339(j.run_at)},
          {"lease_owner", str_or_null(j.lease_owner)},
          {"lease_until", time_or_null(j.lease_until)},
          {"last_error", str_or_null(j.last_error)},
          {"unique_key", str_or_null(j.unique_key)},
          {"tenant_id", str_or_null(j.tenant_id)},
          {"created_at", format_rfc3339(j.created_at)},
          {"updated_at", format_rfc3339(j.updated_at)},
          {"finished_at", time_or_null(j.finished_at)}};
}

json::object event_json(const jobs::Event& e) {
  return {{"seq", e.seq},
          {"id", e.id},
          {"type", e.type},
          {"tenant_id", str_or_null(e.tenant_id)},
          {"user_id", str_or_null(e.user_id)},
          {"subject", str_or_null(e.subject)},
          {"payload", parsed(e.payload)},
          {"created_at", format_rfc3339(e.created_at)},
          {"dispatched_at", time_or_null(e.dispatched_at)},
          {"attempts", e.attempts},
          {"last_error", str_or_null(e.last_error)}};
}

json::object probe_run_json(const jobs::ProbeRun& r) {
  return {{"job_id", r.job_id},
          {"note", r.note},
          {"attempt", r.attempt},
          {"created_at", format_rfc3339(r.created_at)}};
}

json::object user_json(const accounts::User& u) {
  return {{"id", u.id},
          {"tenant_id", u.tenant_id},
          {"email", u.email},
          {"email_verified", u.email_verified},
          {"display_name", u.display_name},
          {"role", role_name(u.role)},
          {"status", u.status},
          {"totp_enabled", u.totp_enabled},
          {"locale", u.locale},
          {"time_zone", u.time_zone},
          {"created_at", format_rfc3339(u.created_at)},
          {"updated_at", format_rfc3339(u.updated_at)},
          {"last_login_at", time_or_null(u.last_login_at)}};
}

json::object session_json(const accounts::Session& s, const std::string& current_id) {
  return {{"id", s.id},
          {"current", s.id == current_id},
          {"user_agent", s.user_agent},
          {"ip", s.ip},
          {"two_step_verified", s.mfa},
          {"created_at", format_rfc3339(s.created_at)},
          {"last_used_at", format_rfc3339(s.last_used_at)},
          {"expires_at", format_rfc3339(s.expires_at)}};
}

json::object api_key_json(const accounts::ApiKey& k) {
  json::object o{{"id", k.id},
                 {"name", k.name},
                 {"scopes", string_array(k.scopes)},
                 {"prefix", k.prefix},
                 {"created_at", format_rfc3339(k.created_at)},
                 {"last_used_at", time_or_null(k.last_used_at)},
                 {"expires_at", time_or_null(k.expires_at)}};
  if (!k.secret.empty()) o["key"] = k.secret;
  return o;
}

json::object tokens_json(const accounts::Tokens& t) {
  return {{"token_type", "Bearer"},
          {"access_token", t.access_token},
          {"expires_in", t.access_expires_in},
          {"refresh_token", t.refresh_token},
          {"refresh_expires_in", t.refresh_expires_in},
          {"session_id", t.session_id}};
}

json::object email_json(const accounts::StoredEmail& e) {
  return {{"id", e.id},
          {"tenant_id", e.tenant_id},
          {"to", e.to},
          {"subject", e.subject},
          {"text", e.text},
          {"kind", e.kind},
          {"status", e.status},
          {"attempts", e.attempts},
          {"last_error", e.last_error},
          {"created_at", format_rfc3339(e.created_at)},
          {"sent_at", time_or_null(e.sent_at)}};
}

}  // namespace rh::api
