// The voice.* keys that shape the SIP edge `ringhouse up` runs (listeners,
// TLS, rtpengine, flood and ban limits) and the EdgeOptions read from them;
// how browsers reach it (public host and URLs).
#pragma once

#include "core/config.hpp"
#include "voice/edge_config.hpp"

namespace rh::voice {

void declare_edge_config(config::Schema& s);

// Everything but hook_url, edge_key, runtime_dir and (when generated) the TLS
// files, which the caller knows.
EdgeOptions edge_options(const config::Config& c);

// What browsers are told about the edge (GET /v1/branding).
BrowserSipOptions browser_sip_options(const config::Config& c);

}  // namespace rh::voice
