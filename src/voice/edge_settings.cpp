#include "voice/edge_settings.hpp"

#include <algorithm>

namespace rh::voice {

namespace {
// Empty, or a URL with the scheme and a host, without spaces or quotes.
config::Check websocket_url_check(std::string scheme) {
  return [scheme](const config::Value& v) -> std::optional<std::string> {
    const auto& u = std::get<std::string>(v);
    if (u.empty()) return std::nullopt;
    bool clean = std::all_of(u.begin(), u.end(), [](char c) {
      auto b = static_cast<unsigned char>(c);
      return b > 0x20 && b < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>';
    });
    if (!clean || u.rfind(scheme, 0) != 0 || u.size() == scheme.size())
      return "must be empty or a " + scheme + "host[:port][/path] URL";
    return std::nullopt;
  };
}
}  // namespace

void declare_edge_config(config::Schema& s) {
  s.boolean("voice.edge", true,
            "`ringhouse up` starts and supervises the SIP edge: Kamailio (config rendered from "
            "the template in src/voice/edge/) and rtpengine. `serve` never does: see "
            "docs/sip-edge.md.");
  s.string("voice.sip_address", "127.0.0.1",
           "The address Kamailio and rtpengine listen on (an address of this host).");
  s.string("voice.advertised_address", "",
           "The public address written in SIP headers and SDP when the host is behind NAT; "
           "empty: voice.sip_address.");
  s.integer("voice.sip_port", 5060, "SIP over UDP and TCP.", 1, 65535);
  s.integer("voice.tls_port", 5061, "SIP over TLS (0: off).", 0, 65535);
  s.integer("voice.ws_port", 8088, "SIP over WebSocket for browsers (0: off).", 0, 65535);
  s.integer("voice.wss_port", 8443, "SIP over secure WebSocket for browsers (0: off).", 0, 65535);
  s.string("voice.public_host", "",
           "The host name (or IP; IPv6 in brackets) browsers reach the WS and WSS listeners at, "
           "in GET /v1/branding's sip.ws_url and sip.wss_url; empty: the host the browser asked "
           "the API for (its Host header, without the port).",
           [](const config::Value& v) -> std::optional<std::string> {
             const auto& h = std::get<std::string>(v);
             if (h.empty() || url_host(h, false) == h) return std::nullopt;
             return "must be a lower-case host name or IP address (IPv6 in brackets), no port";
           });
  s.string("voice.public_ws_url", "",
           "The ws:// URL browsers register over when a proxy serves the WS listener elsewhere "
           "(e.g. ws://phone.example.com/sip); empty: ws://<voice.public_host>:<voice.ws_port>, "
           "or none when voice.ws_port is 0.",
           websocket_url_check("ws://"));
  s.string("voice.public_wss_url", "",
           "The wss:// URL browsers register over when a TLS proxy serves the WSS listener "
           "elsewhere (e.g. wss://phone.example.com/sip); empty: "
           "wss://<voice.public_host>:<voice.wss_port>, or none when voice.wss_port is 0.",
           websocket_url_check("wss://"));
  s.string("voice.tls_certificate", "",
           "PEM certificate for the TLS and WSS listeners; empty: a self-signed one generated "
           "in <data_dir>/secrets/edge-tls.crt (development only).");
  s.string("voice.tls_private_key", "", "PEM private key of voice.tls_certificate.");
  s.integer("voice.rpc_port", 5090,
            "Kamailio's JSON-RPC listener on 127.0.0.1 (0: off), through which ringhouse "
            "clears cached credentials.",
            0, 65535);
  s.integer("voice.rtpengine_port", 22222, "rtpengine's control (ng) port on 127.0.0.1.", 1,
            65535);
  s.integer("voice.rtp_port_min", 30000, "First UDP port of rtpengine's media range.", 1024,
            65535);
  s.integer("voice.rtp_port_max", 40000, "Last UDP port of rtpengine's media range.", 1024,
            65535);
  s.integer("voice.edge_children", 32,
            "Kamailio's UDP and TCP worker processes. A worker waits on each hook request to "
            "ringhouse (three a call), so the edge's call rate is about workers / hook "
            "latency / 3: 8 workers collapsed at 500 calls/s where 32 held it "
            "(bench/RESULTS.md).",
            1, 64);
  s.integer("voice.edge_shm_mb", 256,
            "Kamailio's shared memory in MB (transactions, dialogs, registrations): about 1 MB "
            "per 25 calls being set up or in progress, plus a base.",
            64, 65536);
  s.integer("voice.auth_failures_ban", 5,
            "Failed authentications from one address before it is banned.", 1, 1000);
  s.integer("voice.ban_s", 300, "How long a banned address (auth failures, floods) stays banned.",
            1, 86'400);
  s.integer("voice.pike_density", 60,
            "Requests from one address in 2 s above which it is a flood and banned.", 5, 100'000);
}

EdgeOptions edge_options(const config::Config& c) {
  EdgeOptions o;
  o.sip_domain = c.string("voice.sip_domain");
  o.listen_ip = c.string("voice.sip_address");
  o.advertised_ip = c.string("voice.advertised_address");
  o.sip_port = static_cast<std::uint16_t>(c.integer("voice.sip_port"));
  o.tls_port = static_cast<std::uint16_t>(c.integer("voice.tls_port"));
  o.ws_port = static_cast<std::uint16_t>(c.integer("voice.ws_port"));
  o.wss_port = static_cast<std::uint16_t>(c.integer("voice.wss_port"));
  o.tls_certificate = c.string("voice.tls_certificate");
  o.tls_private_key = c.string("voice.tls_private_key");
  o.rpc_port = static_cast<std::uint16_t>(c.integer("voice.rpc_port"));
  o.rtpengine_control = "udp:127.0.0.1:" + std::to_string(c.integer("voice.rtpengine_port"));
  o.rtp_min = static_cast<std::uint16_t>(c.integer("voice.rtp_port_min"));
  o.rtp_max = static_cast<std::uint16_t>(c.integer("voice.rtp_port_max"));
  auto trunks = parse_trunks(c.list("voice.trunks"));
  if (!trunks) throw config::ConfigError("voice.trunks: " + trunks.error().message);
  o.trunks = std::move(*trunks);
  o.auth_cache_s = static_cast<int>(c.integer("voice.auth_cache_s"));
  o.auth_failures_ban = static_cast<int>(c.integer("voice.auth_failures_ban"));
  o.ban_s = static_cast<int>(c.integer("voice.ban_s"));
  o.pike_reqs_density = static_cast<int>(c.integer("voice.pike_density"));
  o.children = static_cast<int>(c.integer("voice.edge_children"));
  o.shm_mb = static_cast<int>(c.integer("voice.edge_shm_mb"));
  return o;
}

BrowserSipOptions browser_sip_options(const config::Config& c) {
  BrowserSipOptions o;
  o.enabled = c.boolean("voice.edge");
  o.domain = c.string("voice.sip_domain");
  o.public_host = c.string("voice.public_host");
  o.ws_port = static_cast<std::uint16_t>(c.integer("voice.ws_port"));
  o.wss_port = static_cast<std::uint16_t>(c.integer("voice.wss_port"));
  o.ws_url = c.string("voice.public_ws_url");
  o.wss_url = c.string("voice.public_wss_url");
  return o;
}

}  // namespace rh::voice
