// Bandwidth Numbers API (XML) search, orders and disconnects, as
// ../shared/contracts/carriers.md ("Bandwidth") documents them, and the tiny
// XML reader they need.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

#include "core/log.hpp"
#include "numbers/carriers.hpp"

namespace rh::numbers {

// ---------------------------------------------------------------------------
// XML

namespace xml {

namespace {

enum class TagKind { none, open, close, empty, other, malformed };

struct Tag {
  TagKind kind = TagKind::none;
  std::string_view name;
  std::size_t begin = 0;  // the '<'
  std::size_t end = 0;    // one past the '>'
};

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':' || c == '-' || c == '.';
}

// The markup starting at doc[p] == '<'.
Tag tag_at(std::string_view doc, std::size_t p) {
  Tag t;
  t.begin = p;
  std::string_view rest = doc.substr(p);
  auto skip_to = [&](std::string_view terminator, std::size_t from) {
    auto e = doc.find(terminator, p + from);
    if (e == std::string_view::npos) {
      t.kind = TagKind::malformed;
    } else {
      t.kind = TagKind::other;
      t.end = e + terminator.size();
    }
    return t;
  };
  if (rest.starts_with("<!--")) return skip_to("-->", 4);
  if (rest.starts_with("<![CDATA[")) return skip_to("]]>", 9);
  if (rest.starts_with("<?")) return skip_to("?>", 2);
  if (rest.starts_with("<!")) {
    // A DOCTYPE: skipped whole, internal subset included, never interpreted.
    auto gt = doc.find('>', p);
    auto bracket = doc.find('[', p);
    if (bracket != std::string_view::npos && (gt == std::string_view::npos || bracket < gt))
      return skip_to("]>", bracket - p);
    return skip_to(">", 2);
  }
  bool closing = rest.starts_with("</");
  std::size_t i = p + (closing ? 2 : 1);
  std::size_t name_begin = i;
  while (i < doc.size() && name_char(doc[i])) ++i;
  if (i == name_begin) {
    t.kind = TagKind::malformed;
    return t;
  }
  t.name = doc.substr(name_begin, i - name_begin);
  // To the closing '>', stepping over quoted attribute values.
  char quote = 0;
  for (; i < doc.size(); ++i) {
    char c = doc[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      t.end = i + 1;
      if (closing) {
        t.kind = TagKind::close;
      } else {
        t.kind = doc[i - 1] == '/' ? TagKind::empty : TagKind::open;
      }
      return t;
    } else if (c == '<') {
      break;
    }
  }
  t.kind = TagKind::malformed;
  return t;
}

// The next markup at or after pos.
Tag next_tag(std::string_view doc, std::size_t pos) {
  auto p = doc.find('<', pos);
  if (p == std::string_view::npos) return Tag{};
  return tag_at(doc, p);
}

struct Found {
  std::size_t inner_begin = 0;
  std::size_t inner_end = 0;
  std::size_t after = 0;  // one past the end tag
};

std::optional<Found> find_element(std::string_view doc, std::string_view name, std::size_t from) {
  std::size_t pos = from;
  for (;;) {
    Tag t = next_tag(doc, pos);
    if (t.kind == TagKind::none || t.kind == TagKind::malformed) return std::nullopt;
    pos = t.end;
    if (t.name != name) continue;
    if (t.kind == TagKind::empty) return Found{t.end, t.end, t.end};
    if (t.kind != TagKind::open) continue;  // a stray end tag
    int depth = 1;
    std::size_t inner_begin = t.end;
    while (depth > 0) {
      Tag u = next_tag(doc, pos);
      if (u.kind == TagKind::none || u.kind == TagKind::malformed) return std::nullopt;
      pos = u.end;
      if (u.name != name) continue;
      if (u.kind == TagKind::open) ++depth;
      if (u.kind == TagKind::close && --depth == 0) return Found{inner_begin, u.begin, u.end};
    }
  }
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes the entity at s[0] == '&'; returns the characters consumed (0: not
// an entity we know, the '&' is kept as it is).
std::size_t decode_entity(std::string_view s, std::string& out) {
  auto semi = s.find(';');
  if (semi == std::string_view::npos || semi > 10) return 0;
  std::string_view e = s.substr(1, semi - 1);
  if (e == "amp") {
    out += '&';
  } else if (e == "lt") {
    out += '<';
  } else if (e == "gt") {
    out += '>';
  } else if (e == "quot") {
    out += '"';
  } else if (e == "apos") {
    out += '\'';
  } else if (e.size() >= 2 && e[0] == '#') {
    bool hex = e[1] == 'x' || e[1] == 'X';
    std::string_view digits = e.substr(hex ? 2 : 1);
    if (digits.empty()) return 0;
    std::uint32_t cp = 0;
    for (char c : digits) {
      int d = -1;
      if (c >= '0' && c <= '9') d = c - '0';
      if (hex && c >= 'a' && c <= 'f') d = c - 'a' + 10;
      if (hex && c >= 'A' && c <= 'F') d = c - 'A' + 10;
      if (d < 0) return 0;
      cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(d);
      if (cp > 0x10FFFF) return 0;
    }
    if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    append_utf8(out, cp);
  } else {
    return 0;
  }
  return semi + 1;
}

std::string_view trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string_view> element(std::string_view doc, std::string_view name) {
  auto f = find_element(doc, name, 0);
  if (!f) return std::nullopt;
  return doc.substr(f->inner_begin, f->inner_end - f->inner_begin);
}

std::vector<std::string_view> elements(std::string_view doc, std::string_view name) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (auto f = find_element(doc, name, pos)) {
    out.push_back(doc.substr(f->inner_begin, f->inner_end - f->inner_begin));
    pos = f->after;
  }
  return out;
}

std::string unescape_text(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '<') {
      Tag t = tag_at(s, i);
      if (t.kind == TagKind::malformed) break;
      if (s.substr(i).starts_with("<![CDATA[")) out.append(s.substr(i + 9, t.end - 3 - (i + 9)));
      i = t.end;
    } else if (c == '&') {
      std::size_t n = decode_entity(s.substr(i), out);
      if (n == 0) {
        out += '&';
        n = 1;
      }
      i += n;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

std::optional<std::string> text(std::string_view doc, std::string_view name) {
  auto inner = element(doc, name);
  if (!inner) return std::nullopt;
  return std::string(trim(unescape_text(*inner)));
}

std::vector<std::string> texts(std::string_view doc, std::string_view name) {
  std::vector<std::string> out;
  for (auto inner : elements(doc, name)) out.emplace_back(trim(unescape_text(inner)));
  return out;
}

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace xml

// ---------------------------------------------------------------------------
// The adapter

namespace {

const std::string kBandwidth = "bandwidth";
constexpr const char* kBandwidthBase = "https://dashboard.bandwidth.com/api";
// How many numbers to ask for when `contains` is filtered on our side.
constexpr int kContainsScan = 500;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// <Error><Code>/<Description> (or <ErrorCode>/<Description> of a
// ResponseStatus) as "Description (code N)"; "" when there is none.
std::string bandwidth_error_text(std::string_view body) {
  auto err = xml::element(body, "Error");
  if (!err) err = xml::element(body, "ResponseStatus");
  if (!err) return "";
  std::string code = xml::text(*err, "Code").value_or(xml::text(*err, "ErrorCode").value_or(""));
  std::string desc = xml::text(*err, "Description").value_or("");
  if (code.empty() && desc.empty()) return "";
  if (code.empty()) return desc;
  return desc.empty() ? "code " + code : desc + " (code " + code + ")";
}

// +1NXXNXXXXXX -> the 10 national digits Bandwidth uses; "" otherwise.
std::string national(std::string_view e164) {
  if (e164.size() == 12 && e164.starts_with("+1") && all_digits(e164.substr(2)))
    return std::string(e164.substr(2));
  return "";
}

std::string telephone_number_list(const std::string& digits) {
  return "<TelephoneNumberList><TelephoneNumber>" + xml::escape(digits) +
         "</TelephoneNumber></TelephoneNumberList>";
}

class BandwidthProvider final : public NumberProvider {
 public:
  BandwidthProvider(std::string base, const ProviderConfig& c, CarrierHttpOptions o,
                    std::int64_t monthly, std::int64_t upfront)
      : base_(std::move(base)),
        account_(setting(c, "account_id")),
        username_(setting(c, "username")),
        password_(setting(c, "password")),
        site_id_(setting(c, "site_id")),
        monthly_(monthly),
        upfront_(upfront),
        http_(std::move(o)) {}

  const std::string& name() const override { return kBandwidth; }

  Result<std::vector<AvailableNumber>> search(const SearchQuery& query) override {
    RH_ASSIGN(SearchQuery q, checked_query(query));
    if (q.country != "US") return std::vector<AvailableNumber>{};  // a US numbers API
    std::vector<std::pair<std::string, std::string>> params;
    if (q.area_code.size() == 3) {
      params.emplace_back("areaCode", q.area_code);
    } else if (q.area_code.size() == 6) {
      params.emplace_back("npaNxx", q.area_code);
    } else if (!q.area_code.empty()) {
      return Error(Errc::invalid_argument, "area_code",
                   "area_code: a US area code has 3 digits (or 6 for an exchange)");
    }
    if (!q.locality.empty() && q.region.empty()) {
      return Error(Errc::invalid_argument, "region",
                   "region: bandwidth searches by city need the state too");
    }
    if (!q.locality.empty()) params.emplace_back("city", q.locality);
    if (!q.region.empty()) params.emplace_back("state", upper(q.region));
    if (params.empty()) {
      return Error(Errc::invalid_argument, "area_code",
                   "area_code: bandwidth searches need an area code or a state");
    }
    // `contains` is filtered here rather than with localVanity, whose
    // matching (a word against the last seven digits) the contract does not
    // describe: ask for more numbers to filter from.
    int quantity = q.contains.empty() ? q.limit : std::max(q.limit, kContainsScan);
    params.emplace_back("quantity", std::to_string(quantity));
    RH_ASSIGN(CarrierResponse r, call("GET", "/availableNumbers" + query_string(params), ""));
    std::string err = bandwidth_error_text(r.body);
    if (r.status != 200) return carrier_error(kBandwidth, CarrierCall::search, r, error_text(r));
    if (!err.empty()) {
      return make_reason(Errc::unavailable, "provider_rejected",
                         "bandwidth rejected the number search (" + err + ")");
    }
    auto result = xml::element(r.body, "SearchResult");
    if (!result) return bad_response(kBandwidth, "the answer is not a SearchResult", r);
    auto listed =
        xml::texts(xml::element(*result, "TelephoneNumberList").value_or(""), "TelephoneNumber");
    std::vector<AvailableNumber> found;
    for (const auto& digits : listed) {
      AvailableNumber n;
      if (digits.size() == 10 && all_digits(digits)) {
        n.e164 = "+1" + digits;
      } else if (digits.size() == 11 && digits.front() == '1' && all_digits(digits)) {
        n.e164 = "+" + digits;
      } else {
        log::get("numbers")->warn("bandwidth: skipped a search result that is not a number");
        continue;
      }
      n.provider = kBandwidth;
      n.features = {"sms", "mms", "voice"};  // Bandwidth numbers are voice and messaging
      n.country = "US";
      // The search answer names no place: what we searched by is what it is.
      n.region = upper(q.region);
      n.locality = q.locality;
      n.monthly_micros = monthly_;
      n.upfront_micros = upfront_;
      n.currency = "USD";
      found.push_back(std::move(n));
    }
    if (found.empty() && !listed.empty())
      return bad_response(kBandwidth, "no listed TelephoneNumber was a 10-digit number", r);
    return filter_results(std::move(found), q);
  }

  Result<ProviderOrder> order(const std::string& e164, const std::string& customer_ref) override {
    std::string digits = national(e164);
    if (digits.empty())
      return Error(Errc::invalid_argument, "e164", "bandwidth sells +1 numbers only");
    std::string body =
        "<Order><CustomerOrderId>" + xml::escape(customer_ref) +
        "</CustomerOrderId><ExistingTelephoneNumberOrderType>" + telephone_number_list(digits) +
        "</ExistingTelephoneNumberOrderType><SiteId>" + xml::escape(site_id_) + "</SiteId></Order>";
    RH_ASSIGN(CarrierResponse r, call("POST", "/orders", body));
    if (r.status != 200 && r.status != 201 && r.status != 202)
      return carrier_error(kBandwidth, CarrierCall::order, r, error_text(r));
    auto order = xml::element(r.body, "Order");
    std::string id = order ? xml::text(*order, "id").value_or("") : "";
    if (id.empty()) return bad_response(kBandwidth, "the order answer has no Order id", r);
    ProviderOrder o;
    o.id = id;
    o.phone_number_id = digits;  // Bandwidth disconnects by the number itself
    auto status = xml::text(r.body, "OrderStatus");
    if (!status) {
      o.status = "pending";
      return o;
    }
    RH_TRY(apply_status(o, *status, r));
    return o;
  }

  Result<ProviderOrder> order_status(const std::string& order_id) override {
    if (order_id.empty()) return Error(Errc::invalid_argument, "order_id", "empty order id");
    RH_ASSIGN(CarrierResponse r, call("GET", "/orders/" + percent_encode(order_id), ""));
    if (r.status != 200)
      return carrier_error(kBandwidth, CarrierCall::order_status, r, error_text(r));
    auto status = xml::text(r.body, "OrderStatus");
    if (!status) return bad_response(kBandwidth, "the order has no OrderStatus", r);
    ProviderOrder o;
    o.id = order_id;
    if (auto completed = xml::element(r.body, "CompletedNumbers")) {
      o.phone_number_id = xml::text(*completed, "FullNumber").value_or("");
    }
    RH_TRY(apply_status(o, *status, r));
    return o;
  }

  Status release(const std::string& e164, const std::string& phone_number_id) override {
    std::string digits = national(e164);
    if (digits.empty() && phone_number_id.size() == 10 && all_digits(phone_number_id))
      digits = phone_number_id;
    if (digits.empty())
      return Error(Errc::invalid_argument, "e164", "bandwidth releases +1 numbers only");
    std::string body = "<DisconnectTelephoneNumberOrder><DisconnectTelephoneNumberOrderType>" +
                       telephone_number_list(digits) +
                       "</DisconnectTelephoneNumberOrderType></DisconnectTelephoneNumberOrder>";
    RH_ASSIGN(CarrierResponse r, call("POST", "/disconnects", body));
    if (r.status != 200 && r.status != 201 && r.status != 202)
      return carrier_error(kBandwidth, CarrierCall::release, r, error_text(r));
    auto status = xml::text(r.body, "OrderStatus");
    if (status && (*status == "FAILED" || *status == "PARTIAL")) {
      std::string why = error_text(r);
      return make_reason(Errc::unavailable, "provider_rejected",
                         "bandwidth did not disconnect " + e164 + " (" + *status +
                             (why.empty() ? "" : ": " + why) + ")");
    }
    return {};
  }

 private:
  Result<CarrierResponse> call(const std::string& method, const std::string& path,
                               const std::string& body) {
    CarrierRequest req;
    req.method = method;
    req.url = base_ + "/accounts/" + percent_encode(account_) + path;
    req.headers = {{"Accept", "application/xml"}};
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/xml; charset=utf-8");
    req.body = body;
    req.basic_user = username_;
    req.basic_password = password_;
    return http_.send(req);
  }

  static std::string error_text(const CarrierResponse& r) {
    std::string t = bandwidth_error_text(r.body);
    return t.empty() ? r.body.substr(0, 200) : t;
  }

  // RECEIVED/BACKORDERED: pending; COMPLETE: complete; PARTIAL/FAILED:
  // failed (a one-number order that is partial got nothing).
  static Status apply_status(ProviderOrder& o, const std::string& status,
                             const CarrierResponse& r) {
    if (status == "RECEIVED" || status == "BACKORDERED") {
      o.status = "pending";
    } else if (status == "COMPLETE") {
      o.status = "complete";
    } else if (status == "PARTIAL" || status == "FAILED") {
      o.status = "failed";
      o.detail = "bandwidth order " + o.id + " ended " + status;
      std::string why = bandwidth_error_text(r.body);
      if (!why.empty()) o.detail += ": " + why;
    } else {
      return bad_response(kBandwidth, "the OrderStatus '" + status.substr(0, 40) + "' is unknown",
                          r);
    }
    return {};
  }

  std::string base_;
  std::string account_;
  std::string username_;
  std::string password_;
  std::string site_id_;
  std::int64_t monthly_;
  std::int64_t upfront_;
  CarrierHttp http_;
};

Result<std::int64_t> price_setting(const ProviderConfig& c, const std::string& key,
                                   const std::string& fallback) {
  auto v = price_micros(setting(c, key, fallback));
  if (!v || *v < 0) {
    return Error(Errc::invalid_argument, "settings." + key,
                 "settings." + key + " must be a price such as 1.00");
  }
  return *v;
}

}  // namespace

Result<std::unique_ptr<NumberProvider>> make_bandwidth_provider(const ProviderConfig& config) {
  RH_ASSIGN(std::string base, base_url(config, kBandwidthBase));
  RH_ASSIGN(CarrierHttpOptions o, http_options_from(kBandwidth, config.settings));
  RH_ASSIGN(std::int64_t monthly, price_setting(config, "monthly_price", "1.00"));
  RH_ASSIGN(std::int64_t upfront, price_setting(config, "upfront_price", "0.00"));
  return std::unique_ptr<NumberProvider>(
      std::make_unique<BandwidthProvider>(base, config, o, monthly, upfront));
}

}  // namespace rh::numbers
