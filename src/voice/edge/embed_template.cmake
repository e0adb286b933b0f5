# Writes OUT, a C++ file defining rh::voice::detail::kamailio_cfg_template_text()
# with IN's bytes (the Kamailio config template, edge/kamailio.cfg).
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "// Generated from ${IN}; do not edit.
#include <string>
namespace rh::voice::detail {
namespace { const unsigned char kTemplate[] = {${bytes}}; }
const std::string& kamailio_cfg_template_text() {
  static const std::string text(reinterpret_cast<const char*>(kTemplate), sizeof kTemplate);
  return text;
}
}  // namespace rh::voice::detail
")
