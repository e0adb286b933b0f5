#include "voice/edge_config.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <string_view>

#include "core/crypto.hpp"

namespace rh::voice {

namespace detail {
// Generated from edge/kamailio.cfg by edge/embed_template.cmake.
const std::string& kamailio_cfg_template_text();
}  // namespace detail

std::string kamailio_cfg_template() {
  return detail::kamailio_cfg_template_text();
}

namespace {

bool is_ipv4(const std::string& s) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, s.c_str(), buf) == 1;
}
bool is_ipv6(const std::string& s) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET6, s.c_str(), buf) == 1;
}
bool is_ip(const std::string& s) {
  return is_ipv4(s) || is_ipv6(s);
}

// An IP literal or a CIDR subnet (203.0.113.0/24, 2001:db8::/32).
bool is_ip_or_subnet(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos) return is_ip(s);
  std::string ip = s.substr(0, slash), bits = s.substr(slash + 1);
  if (bits.empty() || bits.size() > 3 ||
      !std::all_of(bits.begin(), bits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  int n = std::stoi(bits);
  if (is_ipv4(ip)) return n <= 32;
  if (is_ipv6(ip)) return n <= 128;
  return false;
}

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

bool is_hostname(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.front() == '-' || s.back() == '-')
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-';
  });
}

bool is_trunk_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// Safe inside a Kamailio string literal that may also be a format string:
// no quote, backslash, '$' or control characters.
bool is_cfg_safe(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f && c != '"' && c != '\\' && c != '$';
  });
}

bool is_edge_key(std::string_view s) {
  return s.size() >= 16 && s.size() <= 256 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=' || c == '-';
         });
}

// "udp:IP:port" → {IP, port}; nullopt-like empty IP on error.
std::pair<std::string, int> split_rtpengine_control(const std::string& s) {
  if (s.rfind("udp:", 0) != 0) return {};
  std::string rest = s.substr(4);
  auto colon = rest.rfind(':');
  if (colon == std::string::npos) return {};
  std::string ip = rest.substr(0, colon), port = rest.substr(colon + 1);
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  if (!is_ip(ip) || port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return {};
  int p = std::stoi(port);
  if (p <= 0 || p > 65535) return {};
  return {ip, p};
}

// An address in a Kamailio socket: IPv6 in brackets.
std::string sock_host(const std::string& ip) {
  return is_ipv6(ip) ? "[" + ip + "]" : ip;
}

std::string hook_base(const std::string& url) {
  std::string u = url;
  while (!u.empty() && u.back() == '/') u.pop_back();
  return u;
}

// http_client's connection to the hooks: the hook URL with the edge key as
// its Basic credentials (scheme://edge:KEY@host:port/path).
std::string hook_connection(const EdgeOptions& o) {
  std::string base = hook_base(o.hook_url);
  auto at = base.find("://");
  return base.substr(0, at + 3) + "edge:" + o.edge_key + "@" + base.substr(at + 3);
}

// A hex string derived from the edge key, distinct per purpose.
std::string derived_secret(const EdgeOptions& o, std::string_view purpose) {
  return crypto::hex_encode(crypto::hmac_sha256(o.edge_key, purpose)).substr(0, 32);
}

void replace_all(std::string& text, const std::string& token, const std::string& value) {
  for (std::size_t at = text.find(token); at != std::string::npos;
       at = text.find(token, at + value.size()))
    text.replace(at, token.size(), value);
}

// The generated condition matching one trunk's sources against `pv`, an
// IP address ("$si"); with dst_names, `pv` may also be a host name and then
// matches the trunk's host by name.
std::string trunk_condition(const Trunk& t, const std::string& pv, bool dst_names) {
  std::vector<std::string> parts;
  if (t.addresses.empty()) {
    parts.push_back(fmt::format("dns_int_match_ip(\"{}\", \"{}\")", t.host, pv));
  } else {
    for (const auto& a : t.addresses) {
      if (a.find('/') != std::string::npos)
        parts.push_back(fmt::format("is_in_subnet(\"{}\", \"{}\")", pv, a));
      else
        parts.push_back(fmt::format("compare_ips(\"{}\", \"{}\")", pv, a));
    }
  }
  std::string cond;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) cond += "\n\t\t\t|| ";
    cond += parts[i];
  }
  if (!dst_names) return cond;
  return fmt::format("$(var(dst){{s.tolower}}) == \"{}\"\n\t\t\t|| (is_ip(\"{}\") && ({}))",
                     lower(t.host), pv, cond);
}

}  // namespace

// ---------------------------------------------------------------------------
// Trunks

Result<std::vector<Trunk>> parse_trunks(const std::vector<std::string>& urls) {
  std::vector<Trunk> out;
  std::set<std::string> names;
  for (std::size_t n = 0; n < urls.size(); ++n) {
    const std::string field = fmt::format("voice.trunks[{}]", n);
    auto bad = [&](const std::string& why) { return Error(Errc::invalid_argument, field, why); };
    std::string_view u = urls[n];
    if (u.substr(0, 6) != "sip://") return bad("must start with sip://");
    u.remove_prefix(6);
    std::string_view query;
    if (auto q = u.find('?'); q != std::string_view::npos) {
      query = u.substr(q + 1);
      u = u.substr(0, q);
    }
    if (u.find('@') != std::string_view::npos) return bad("takes no user part");
    Trunk t;
    std::string_view port;
    if (!u.empty() && u.front() == '[') {
      auto close = u.find(']');
      if (close == std::string_view::npos) return bad("unbalanced [ in the host");
      t.host = std::string(u.substr(1, close - 1));
      if (!is_ipv6(t.host)) return bad("bracketed host must be an IPv6 address");
      std::string_view rest = u.substr(close + 1);
      if (!rest.empty()) {
        if (rest.front() != ':') return bad("expected :port after the IPv6 address");
        port = rest.substr(1);
        if (port.empty()) return bad("port is empty");
      }
    } else {
      auto colon = u.rfind(':');
      if (colon != std::string_view::npos) {
        port = u.substr(colon + 1);
        u = u.substr(0, colon);
        if (port.empty()) return bad("port is empty");
      }
      t.host = std::string(u);
      if (!is_ipv4(t.host) && !is_hostname(t.host))
        return bad("host is not an IPv4 address or a DNS name");
    }
    if (t.host.empty()) return bad("needs a host");
    if (!port.empty()) {
      if (port.size() > 5 ||
          !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return bad("port is not a number");
      int p = std::stoi(std::string(port));
      if (p <= 0 || p > 65535) return bad("port out of range");
      t.port = static_cast<std::uint16_t>(p);
    }
    bool addresses_given = false;
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view kv = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (kv.empty()) continue;
      auto eq = kv.find('=');
      std::string key(kv.substr(0, eq));
      auto decoded = crypto::percent_decode(eq == std::string_view::npos ? std::string_view()
                                                                         : kv.substr(eq + 1));
      if (!decoded) return bad("bad percent-encoding in '" + key.substr(0, 32) + "'");
      const std::string& value = *decoded;
      if (key == "name") {
        if (!is_trunk_name(value)) return bad("name must be [a-z0-9_-]+ (at most 64)");
        t.name = value;
      } else if (key == "transport") {
        if (value != "udp" && value != "tcp" && value != "tls")
          return bad("transport is udp, tcp or tls");
        t.transport = value;
      } else if (key == "addresses") {
        addresses_given = true;
        std::string_view list = value;
        while (!list.empty()) {
          auto comma = list.find(',');
          std::string a(list.substr(0, comma));
          list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
          if (a.empty()) continue;
          if (!is_ip_or_subnet(a))
            return bad("'" + a.substr(0, 64) + "' is not an IP address or subnet");
          t.addresses.push_back(a);
        }
        if (t.addresses.empty()) return bad("addresses is empty");
      } else {
        return bad("unknown parameter '" + key.substr(0, 32) + "'");
      }
    }
    if (t.name.empty()) return bad("needs name=");
    if (!names.insert(t.name).second) return bad("the name '" + t.name + "' is used twice");
    if (!addresses_given && is_ip(t.host)) t.addresses.push_back(t.host);
    out.push_back(std::move(t));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Options

Status check_edge_options(const EdgeOptions& o) {
  auto bad = [](const char* field, const std::string& why) {
    return Error(Errc::invalid_argument, field, fmt::format("{}: {}", field, why));
  };
  if (!is_hostname(o.sip_domain) && !is_ip(o.sip_domain))
    return bad("voice.sip_domain", "must be a DNS name or an IP address");
  if (!is_ip(o.listen_ip)) return bad("voice.sip_address", "must be an IP address of this host");
  if (o.listen_ip == "0.0.0.0" || o.listen_ip == "::")
    return bad("voice.sip_address", "must be an address of this host, not a wildcard");
  if (!o.advertised_ip.empty() && !is_ip(o.advertised_ip) && !is_hostname(o.advertised_ip))
    return bad("voice.advertised_address", "must be an IP address or a DNS name");
  if (o.sip_port == 0) return bad("voice.sip_port", "must not be 0");
  std::map<int, const char*> ports{{o.sip_port, "voice.sip_port"}};
  for (auto [port, field] : {std::pair<int, const char*>{o.tls_port, "voice.tls_port"},
                             {o.ws_port, "voice.ws_port"},
                             {o.wss_port, "voice.wss_port"},
                             {o.rpc_port, "voice.rpc_port"}}) {
    if (port == 0) continue;
    if (!ports.emplace(port, field).second)
      return bad(field, fmt::format("port {} is also {}", port, ports[port]));
  }
  if (o.tls_port != 0 || o.wss_port != 0) {
    if (o.tls_certificate.empty() || !is_cfg_safe(o.tls_certificate))
      return bad("voice.tls_certificate", "a PEM file path is needed for TLS and WSS");
    if (o.tls_private_key.empty() || !is_cfg_safe(o.tls_private_key))
      return bad("voice.tls_private_key", "a PEM file path is needed for TLS and WSS");
  }
  if ((o.hook_url.rfind("http://", 0) != 0 && o.hook_url.rfind("https://", 0) != 0) ||
      !is_cfg_safe(o.hook_url) || o.hook_url.find(' ') != std::string::npos ||
      o.hook_url.find_first_of("?@;") != std::string::npos)
    return bad("voice.hook_url",
               "must be an http:// or https:// URL without a query, credentials or ';'");
  if (!is_edge_key(o.edge_key))
    return bad("voice.edge_key", "must be 16 to 256 characters of [A-Za-z0-9._~+/=-]");
  if (split_rtpengine_control(o.rtpengine_control).first.empty())
    return bad("voice.rtpengine_port", "must be udp:IP:port");
  if (!o.rtpengine_interface_ip.empty() && !is_ip(o.rtpengine_interface_ip))
    return bad("voice.rtpengine_interface_ip", "must be an IP address");
  if (o.rtp_min < 1024 || o.rtp_max <= o.rtp_min)
    return bad("voice.rtp_port_min", "the RTP range must be 1024 <= rtp_min < rtp_max");
  if (o.auth_cache_s < 0 || o.auth_cache_s > 86400)
    return bad("voice.auth_cache_s", "must be 0..86400");
  if (o.auth_failures_ban < 1 || o.auth_failures_ban > 1000)
    return bad("voice.auth_failures_ban", "must be 1..1000");
  if (o.ban_s < 1 || o.ban_s > 604800) return bad("voice.ban_s", "must be 1..604800");
  if (o.pike_sampling_s < 1 || o.pike_sampling_s > 3600)
    return bad("voice.pike_sampling_s", "must be 1..3600");
  if (o.pike_reqs_density < 1 || o.pike_reqs_density > 100000)
    return bad("voice.pike_density", "must be 1..100000");
  if (o.children < 1 || o.children > 64) return bad("voice.edge_children", "must be 1..64");
  if (o.runtime_dir.empty() || o.runtime_dir.front() != '/' || !is_cfg_safe(o.runtime_dir))
    return bad("voice.runtime_dir", "must be an absolute path");
  std::set<std::string> names;
  for (std::size_t i = 0; i < o.trunks.size(); ++i) {
    const Trunk& t = o.trunks[i];
    std::string why;
    if (!is_trunk_name(t.name))
      why = "name must be [a-z0-9_-]+";
    else if (!names.insert(t.name).second)
      why = "the name '" + t.name + "' is used twice";
    else if (!is_ip(t.host) && !is_hostname(t.host))
      why = "host is not an IP address or a DNS name";
    else if (std::any_of(t.addresses.begin(), t.addresses.end(),
                         [](const std::string& a) { return !is_ip_or_subnet(a); }))
      why = "addresses must be IP addresses or subnets";
    if (!why.empty()) {
      std::string field = fmt::format("voice.trunks[{}]", i);
      return Error(Errc::invalid_argument, field, fmt::format("{}: {}", field, why));
    }
  }
  return {};
}

// ---------------------------------------------------------------------------
// Rendering

std::string kamailio_pid_path(const EdgeOptions& o) {
  return o.runtime_dir + "/kamailio.pid";
}

std::string render_kamailio_cfg(const EdgeOptions& o) {
  if (auto st = check_edge_options(o); !st) throw std::invalid_argument(st.error().message);

  const bool tls = o.tls_port != 0, ws = o.ws_port != 0, wss = o.wss_port != 0,
             rpc = o.rpc_port != 0;
  std::string defines;
  auto define = [&](bool on, const char* name) {
    if (on) defines += fmt::format("#!define {}\n", name);
  };
  define(tls, "WITH_TLS");
  define(ws, "WITH_WS");
  define(wss, "WITH_WSS");
  define(tls || wss, "WITH_TLS_MODULE");
  define(ws || wss, "WITH_WEBSOCKET");
  define(ws || wss || rpc, "WITH_XHTTP");
  define(rpc, "WITH_RPC");
  define(!o.trunks.empty(), "WITH_TOPOH");
  define(o.auth_cache_s > 0, "WITH_AUTH_CACHE");
  if (!defines.empty()) defines.pop_back();

  const std::string host = sock_host(o.listen_ip);
  auto listen = [&](const char* proto, int port) {
    std::string line = fmt::format("listen={}:{}:{}", proto, host, port);
    if (!o.advertised_ip.empty())
      line += fmt::format(" advertise {}:{}", sock_host(o.advertised_ip), port);
    return line + "\n";
  };
  std::string listens = listen("udp", o.sip_port) + listen("tcp", o.sip_port);
  if (tls) listens += listen("tls", o.tls_port);
  if (ws) listens += listen("tcp", o.ws_port);
  if (wss) listens += listen("tls", o.wss_port);
  if (rpc) listens += fmt::format("listen=tcp:127.0.0.1:{}\n", o.rpc_port);
  listens.pop_back();

  std::string source, destination;
  for (const auto& t : o.trunks) {
    source += fmt::format("\tif ({}) {{\n\t\t$var(trunk) = \"{}\";\n\t\treturn;\n\t}}\n",
                          trunk_condition(t, "$si", false), t.name);
    destination += fmt::format("\tif ({}) {{\n\t\t$var(to_trunk) = 1;\n\t\treturn;\n\t}}\n",
                               trunk_condition(t, "$var(dst)", true));
  }
  if (source.empty()) source = "\t# no trunks configured\n";
  if (destination.empty()) destination = "\t# no trunks configured\n";
  source.pop_back();
  destination.pop_back();

  std::string cfg = kamailio_cfg_template();
  replace_all(cfg, "{{GENERATED_DEFINES}}", defines.empty() ? "# (none)" : defines);
  replace_all(cfg, "{{GENERATED_LISTEN}}", listens);
  replace_all(cfg, "{{GENERATED_TRUNK_SOURCE}}", source);
  replace_all(cfg, "{{GENERATED_TRUNK_DESTINATION}}", destination);
  replace_all(cfg, "{{SIP_DOMAIN}}", o.sip_domain);
  replace_all(cfg, "{{CHILDREN}}", std::to_string(o.children));
  replace_all(cfg, "{{RTPENGINE_SOCK}}", o.rtpengine_control);
  replace_all(cfg, "{{AUTH_CACHE_S}}", std::to_string(std::max(o.auth_cache_s, 1)));
  replace_all(cfg, "{{BAN_S}}", std::to_string(o.ban_s));
  replace_all(cfg, "{{AUTH_FAILURES_BAN}}", std::to_string(o.auth_failures_ban));
  replace_all(cfg, "{{PIKE_SAMPLING_S}}", std::to_string(o.pike_sampling_s));
  replace_all(cfg, "{{PIKE_REQS_DENSITY}}", std::to_string(o.pike_reqs_density));
  replace_all(cfg, "{{UAC_RESTORE_KEY}}", derived_secret(o, "kamailio uac restore"));
  replace_all(cfg, "{{TOPOH_KEY}}", derived_secret(o, "kamailio topoh mask"));
  replace_all(cfg, "{{DUMMY_HA1_SECRET}}", derived_secret(o, "kamailio unknown user ha1"));
  replace_all(cfg, "{{TOPOH_MASK_IP}}", "127.0.0.8");
  replace_all(cfg, "{{TLS_CERTIFICATE}}", o.tls_certificate);
  replace_all(cfg, "{{TLS_PRIVATE_KEY}}", o.tls_private_key);
  replace_all(cfg, "{{HOOK_CONNECTION}}", hook_connection(o));
  replace_all(cfg, "{{SIP_PORT}}", std::to_string(o.sip_port));
  replace_all(cfg, "{{TLS_PORT}}", std::to_string(o.tls_port));
  replace_all(cfg, "{{WS_PORT}}", std::to_string(o.ws_port));
  replace_all(cfg, "{{WSS_PORT}}", std::to_string(o.wss_port));
  replace_all(cfg, "{{RPC_PORT}}", std::to_string(o.rpc_port));
  return cfg;
}

std::vector<std::string> kamailio_argv(const EdgeOptions& o, const std::string& cfg_path) {
  return {"kamailio",
          "-DD",  // no daemon: the creator stays in the foreground, children are forked
          "-E",   // log to stderr
          "-f", cfg_path, "-P", kamailio_pid_path(o), "-Y", o.runtime_dir, "-w", o.runtime_dir,
          "-m",
          std::to_string(o.shm_mb),  // shared memory, MB: usrloc, dialogs, transactions, htables
          "-M", "16",                // private memory per process, MB: route documents, HTTP bodies
          // TLSF allocators for both: O(1) where the default (qm) walks its
          // free lists; qm_malloc was a quarter of Kamailio's own CPU per call.
          "-x", "tlsf", "-X", "tlsf"};
}

std::vector<std::string> rtpengine_argv(const EdgeOptions& o) {
  auto [ng_ip, ng_port] = split_rtpengine_control(o.rtpengine_control);
  std::string iface = o.rtpengine_interface_ip.empty() ? o.listen_ip : o.rtpengine_interface_ip;
  if (!o.advertised_ip.empty() && is_ip(o.advertised_ip)) iface += "!" + o.advertised_ip;
  return {"rtpengine",
          "--config-file=none",
          "--foreground",
          "--log-stderr",
          "--table=-1",  // userspace forwarding only, no kernel module
          "--interface=" + iface,
          fmt::format("--listen-ng={}:{}", sock_host(ng_ip), ng_port),
          fmt::format("--port-min={}", o.rtp_min),
          fmt::format("--port-max={}", o.rtp_max),
          "--pidfile=" + o.runtime_dir + "/rtpengine.pid",
          "--timeout=60",           // no media for 60 s: the call is dropped
          "--delete-delay=5",       // ports and sockets of an ended call free after 5 s (not 30)
          "--silent-timeout=3600",  // on hold: one hour
          "--tos=184",
          "--log-level=5"};
}

std::string url_host(std::string_view host, bool allow_port) {
  if (host.empty()) return {};
  if (host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos) return {};
    std::string ip(host.substr(1, close - 1));
    auto rest = host.substr(close + 1);
    if (!rest.empty() && !(allow_port && rest.front() == ':')) return {};
    return is_ipv6(ip) ? "[" + lower(ip) + "]" : std::string();
  }
  if (!allow_port && is_ipv6(std::string(host))) return "[" + lower(std::string(host)) + "]";
  auto name = host.substr(0, allow_port ? host.find(':') : std::string_view::npos);
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return is_hostname(name) ? lower(std::string(name)) : std::string();
}

std::optional<BrowserSip> browser_sip(const BrowserSipOptions& o, std::string_view request_host) {
  if (!o.enabled) return std::nullopt;
  BrowserSip out;
  out.domain = o.domain;
  std::string host = o.public_host.empty() ? url_host(request_host, true) : o.public_host;
  auto url = [&host](const char* scheme, std::uint16_t port, const std::string& fixed) {
    if (!fixed.empty()) return fixed;
    if (port == 0 || host.empty()) return std::string();
    return fmt::format("{}://{}:{}", scheme, host, port);
  };
  out.ws_url = url("ws", o.ws_port, o.ws_url);
  out.wss_url = url("wss", o.wss_port, o.wss_url);
  return out;
}

}  // namespace rh::voice
