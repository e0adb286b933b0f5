#include "core/result.hpp"

namespace rh {

const char* errc_name(Errc c) {
  switch (c) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::not_found:
      return "not_found";
    case Errc::conflict:
      return "conflict";
    case Errc::precondition:
      return "precondition";
    case Errc::payment_required:
      return "payment_required";
    case Errc::unauthorized:
      return "unauthorized";
    case Errc::forbidden:
      return "forbidden";
    case Errc::too_many:
      return "too_many";
    case Errc::unavailable:
      return "unavailable";
    case Errc::timeout:
      return "timeout";
    case Errc::internal:
      return "internal";
  }
  return "internal";
}

}  // namespace rh
