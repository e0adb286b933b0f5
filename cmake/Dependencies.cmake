# Every dependency comes from Debian's archive (scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(CURL REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(SQLite3 REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(MARIADB REQUIRED IMPORTED_TARGET libmariadb)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
if(RINGHOUSE_JEMALLOC)
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)  # libjemalloc-dev
endif()

# Asio and Beast are compiled once, in src/third_party/asio_beast.cpp, and every
# target that uses them links ringhouse_asio and gets these definitions.
add_library(ringhouse_asio_defs INTERFACE)
target_compile_definitions(ringhouse_asio_defs INTERFACE
  BOOST_ASIO_SEPARATE_COMPILATION
  BOOST_BEAST_SEPARATE_COMPILATION
  BOOST_ASIO_NO_DEPRECATED
  BOOST_ASIO_DISABLE_BOOST_COROUTINE)
target_link_libraries(ringhouse_asio_defs INTERFACE Boost::headers Threads::Threads)

# Boost.JSON and Boost.URL: header-only in Debian's 1.81, compiled once in
# src/third_party/boost_json_url.cpp (target ringhouse_boost_json).
add_library(ringhouse_boost_defs INTERFACE)
target_compile_definitions(ringhouse_boost_defs INTERFACE BOOST_JSON_NO_LIB BOOST_URL_NO_LIB)
target_link_libraries(ringhouse_boost_defs INTERFACE Boost::headers)

# libphonenumber: the library from Debian's libphonenumber8, the headers from
# its -dev package extracted by scripts/install-deps.sh (the -dev package
# itself conflicts with Boost 1.81's development packages on Debian 12).
find_path(PHONENUMBER_INCLUDE_DIR phonenumbers/phonenumberutil.h
  PATHS /usr/local/lib/ringhouse/libphonenumber/include REQUIRED)
find_library(PHONENUMBER_LIBRARY NAMES phonenumber libphonenumber.so.8 REQUIRED)
find_package(Protobuf REQUIRED)
add_library(ringhouse_phonenumber INTERFACE)
target_include_directories(ringhouse_phonenumber SYSTEM INTERFACE ${PHONENUMBER_INCLUDE_DIR})
target_link_libraries(ringhouse_phonenumber INTERFACE ${PHONENUMBER_LIBRARY} protobuf::libprotobuf)
