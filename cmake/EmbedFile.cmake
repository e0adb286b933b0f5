# Writes OUT, a C++ file defining rh::api::openapi_document() with IN's bytes.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "// Generated from ${IN}; do not edit.\n#include <string>\nnamespace rh::api {\nnamespace { const unsigned char kDoc[] = {${bytes}}; }\nconst std::string& openapi_document() {\n  static const std::string doc(reinterpret_cast<const char*>(kDoc), sizeof kDoc);\n  return doc;\n}\n}  // namespace rh::api\n")
