#include "accounts/settings.hpp"

#include "accounts/auth.hpp"
#include "accounts/mail.hpp"

namespace rh::accounts {

void declare_config(config::Schema& s) {
  declare_auth_config(s);
  declare_mail_config(s);
  s.boolean(
      "tenants.create_default", true,
      "Create the default tenant on first start; it serves every Host no other tenant claims.");
  s.string("tenants.default_slug", "default", "Slug of the default tenant.");
  s.string("tenants.default_name", "Ringhouse", "Name (and brand) of the default tenant.");
  s.list("tenants.default_hostnames", {"localhost", "127.0.0.1"},
         "Hostnames of the default tenant.");
  s.string("tenants.default_country", "US",
           "Default country of the default tenant (ISO 3166-1 alpha-2).");
  s.string("tenants.default_currency", "USD", "Currency of the default tenant (ISO 4217).");
}

TenantInput default_tenant(const config::Config& c) {
  TenantInput in;
  in.slug = c.string("tenants.default_slug");
  in.name = c.string("tenants.default_name");
  in.hostnames = c.list("tenants.default_hostnames");
  in.default_country = c.string("tenants.default_country");
  in.currency = c.string("tenants.default_currency");
  return in;
}

}  // namespace rh::accounts
