// Config keys of the HTTP server: [http].
#pragma once
#include "core/config.hpp"
#include "http/server.hpp"
namespace rh::http {
void declare_config(config::Schema& s);
ServerOptions server_options(const config::Config& c);
}  // namespace rh::http
