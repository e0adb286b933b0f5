#include "voice/edge_rpc.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <boost/json.hpp>

#include "core/log.hpp"

namespace rh::voice {

namespace {
std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}
}  // namespace

Result<std::string> EdgeRpc::call(const std::string& method, const std::string& params_json) {
  if (url_.empty()) return std::string();
  std::string body = fmt::format(R"({{"jsonrpc":"2.0","method":{},"params":{},"id":1}})",
                                 boost::json::serialize(boost::json::value(method)), params_json);
  CURL* curl = curl_easy_init();
  if (!curl) return make_error(Errc::internal, "curl_easy_init failed");
  std::string response;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK)
    return make_error(Errc::unavailable,
                      fmt::format("SIP edge RPC {}: {}", method, curl_easy_strerror(rc)));
  if (status != 200)
    return make_error(Errc::unavailable, fmt::format("SIP edge RPC {}: HTTP {}", method, status));
  return response;
}

Status EdgeRpc::forget_credentials(const std::string& username) {
  auto r = call("htable.delete",
                boost::json::serialize(boost::json::array{"auth", boost::json::string(username)}));
  if (!r) {
    log::get("voice")->warn("cannot clear the SIP edge's cached credentials of {}: {}", username,
                            r.error().message);
    return r.error();
  }
  return {};
}

}  // namespace rh::voice
