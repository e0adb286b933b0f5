// Boost.JSON and Boost.URL compiled once here: Debian's Boost 1.81 ships them
// as headers only, and their src.hpp is their separate-compilation unit.
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
