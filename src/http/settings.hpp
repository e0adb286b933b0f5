// Config keys of the HTTP server ([http]) and of the web app it serves ([web]).
#pragma once
#include "core/config.hpp"
#include "http/server.hpp"
#include "http/web_app.hpp"
namespace rh::http {
void declare_config(config::Schema& s);
ServerOptions server_options(const config::Config& c);
WebAppOptions web_app_options(const config::Config& c);
}  // namespace rh::http
