#include <gtest/gtest.h>

#include "support/http_client.hpp"
#include "support/process.hpp"

namespace rh::test {

TEST(Smoke, ServesHealthz) {
  RinghouseProcess p({});
  ASSERT_GT(p.port(), 0);
  auto r = http_get(p.port(), "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json().at("status").as_string(), "ok");
}

}  // namespace rh::test
