#include "api/json_views.hpp"

#include <boost/json.hpp>

#include "core/clock.hpp"

namespace rh::api {

namespace json = boost::json;

namespace {
json::value time_or_null(const std::optional<std::int64_t>& ms) {
  if (!ms) return nullptr;
  return json::value(format_rfc3339(*ms));
}
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
          {"name", b.display_name.empty() ? t.name : b.display_name},
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

}  // namespace rh::api
