// Config keys of the accounts module: [tenants], [auth] (auth.hpp), [mail] (mail.hpp).
#pragma once
#include "accounts/tenants.hpp"
#include "core/config.hpp"
namespace rh::accounts {
void declare_config(config::Schema& s);
// The default tenant created on first start.
TenantInput default_tenant(const config::Config& c);
}  // namespace rh::accounts
