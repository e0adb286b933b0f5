// The SIP edge's configuration: the Kamailio config rendered from the
// template compiled in from src/voice/edge/kamailio.cfg, and the command
// lines of Kamailio and rtpengine. Pure functions, no I/O: the caller writes
// the rendered text into runtime_dir and spawns the processes.
// docs/sip-edge.md describes what the config does; docs/voice.md the hooks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace rh::voice {

// A SIP trunk (carrier). Calls from its addresses are accepted without
// authentication (source=trunk, trunk=name) and it is the only kind of
// destination topology hiding applies to.
struct Trunk {
  std::string name;  // [a-z0-9_-]+, unique
  std::string host;  // IP literal or DNS name (IPv6 without brackets)
  std::uint16_t port = 5060;
  std::string transport = "udp";  // udp | tcp | tls
  // Source IPs or CIDR subnets accepted from this trunk. Default: host when
  // it is an IP literal; for a DNS name with no addresses, the source must be
  // one of the name's A records (Kamailio resolves it per request).
  std::vector<std::string> addresses;
};

// voice.trunks, one URL each:
//   sip://host:port?name=carrier1&transport=udp&addresses=203.0.113.5,203.0.113.6
// port defaults to 5060, transport to udp; name is required and unique;
// addresses are IPs or CIDR subnets. invalid_argument naming the entry
// (voice.trunks[N]) for anything else.
Result<std::vector<Trunk>> parse_trunks(const std::vector<std::string>& urls);

struct EdgeOptions {
  std::string sip_domain;               // digest realm and the domain devices register to
  std::string listen_ip = "127.0.0.1";  // an address of this host (not 0.0.0.0)
  std::string advertised_ip;            // empty: listen_ip; behind NAT (Via/RR; SDP when an IP)
  std::uint16_t sip_port = 5060;        // UDP and TCP
  std::uint16_t tls_port = 5061, ws_port = 8088, wss_port = 8443;  // 0 disables a listener
  std::string tls_certificate, tls_private_key;  // PEM paths, needed for TLS and WSS
  std::string hook_url;                          // e.g. http://127.0.0.1:8080/internal/sip
  std::string edge_key;  // X-Ringhouse-Edge-Key value, [A-Za-z0-9._~+/=-]{16,}
  // JSON-RPC over HTTP on 127.0.0.1:rpc_port, answered only to 127.0.0.1
  // (POST /RPC: htable.delete auth <username>, ul.dump, ...); 0: off.
  std::uint16_t rpc_port = 0;
  std::string rtpengine_control = "udp:127.0.0.1:22222";  // ng protocol
  std::string rtpengine_interface_ip;                     // empty: listen_ip
  std::uint16_t rtp_min = 30000, rtp_max = 40000;
  std::vector<Trunk> trunks;
  int auth_cache_s = 60;      // HA1 cache lifetime, 0..86400 (0: no cache)
  int auth_failures_ban = 5;  // ban a source IP after N failed authentications ...
  int ban_s = 300;            // ... for ban_s seconds (also pike offenders)
  int pike_sampling_s = 2, pike_reqs_density = 60;  // flood: > density requests per sampling period
  int children = 8;                                 // UDP and TCP worker processes, 1..64
  int shm_mb = 256;  // Kamailio's shared memory, MB: transactions, dialogs, registrations
  std::string runtime_dir;  // absolute: pid files, the rendered config, working directory
};

// Every problem with the options, as invalid_argument naming the field
// ("voice.edge_key", "voice.trunks[1]", ...); ok when they can be rendered.
Status check_edge_options(const EdgeOptions& o);

// The whole Kamailio config from the embedded template. Throws
// std::invalid_argument with check_edge_options' message when the options
// are not valid (a start-up configuration error).
std::string render_kamailio_cfg(const EdgeOptions& o);

// Kamailio in the foreground (-DD -E: children forked, logs on stderr),
// pid file and working directory in runtime_dir, shared/private memory
// sizes. argv[0] is "kamailio" (resolve it in PATH or replace it).
std::vector<std::string> kamailio_argv(const EdgeOptions& o, const std::string& cfg_path);

// rtpengine in the foreground, userspace only (--table=-1), no config file,
// logs on stderr, the media interface (with the advertised address), the
// ng control socket and the RTP port range. argv[0] is "rtpengine".
std::vector<std::string> rtpengine_argv(const EdgeOptions& o);

// The Kamailio pid file kamailio_argv asks for.
std::string kamailio_pid_path(const EdgeOptions& o);

// The embedded template text (src/voice/edge/kamailio.cfg).
std::string kamailio_cfg_template();

// How browsers (the web app's JsSIP) reach the edge's WebSocket listeners:
// GET /v1/branding's `sip`.
struct BrowserSipOptions {
  bool enabled = false;     // there is an edge to register with (voice.edge)
  std::string domain;       // voice.sip_domain
  std::string public_host;  // voice.public_host; empty: the host the browser asked the API for
  std::uint16_t ws_port = 0, wss_port = 0;  // 0: the listener is off
  std::string ws_url, wss_url;  // voice.public_ws_url / public_wss_url: used as they are
};

struct BrowserSip {
  std::string domain;
  std::string ws_url, wss_url;  // empty: none
};

// The settings a browser registers with, nullopt without an edge. A URL is
// ws[s]://<host>:<port>, host being public_host or else the request's Host
// header without its port (empty URL when that is not a valid host name or
// IP); an override URL wins over both.
std::optional<BrowserSip> browser_sip(const BrowserSipOptions& o, std::string_view request_host);

// A host for a URL: a DNS name or IPv4 address (lower-case) or an IPv6
// address in brackets; "" when `host` is none of them. With allow_port, a
// ":port" after it (a Host header) is dropped.
std::string url_host(std::string_view host, bool allow_port);

}  // namespace rh::voice
