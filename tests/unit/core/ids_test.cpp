#include "core/ids.hpp"

#include <gtest/gtest.h>

#include "core/crypto.hpp"

namespace rh {

TEST(Ids, PrefixedAndTimeOrdered) {
  crypto::init();
  std::string a = new_id("job", 1'700'000'000'000);
  std::string b = new_id("job", 1'700'000'000'001);
  EXPECT_TRUE(is_id(a, "job"));
  EXPECT_FALSE(is_id(a, "usr"));
  EXPECT_EQ(a.size(), 4u + 26u);
  EXPECT_LT(a, b);
  EXPECT_NE(new_id("job", 5), new_id("job", 5));
}

}  // namespace rh
