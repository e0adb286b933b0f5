#include "core/phone_number.hpp"

#include <gtest/gtest.h>

namespace rh {

TEST(PhoneNumber, NationalInputUsesTheDefaultRegion) {
  auto us = phone::to_e164("(415) 555-0132", "US");
  ASSERT_TRUE(us.ok()) << us.error().message;
  EXPECT_EQ(*us, "+14155550132");
  auto gb = phone::to_e164("020 7946 0958", "GB");
  ASSERT_TRUE(gb.ok());
  EXPECT_EQ(*gb, "+442079460958");
}

TEST(PhoneNumber, InternationalInputIgnoresTheDefaultRegion) {
  auto r = phone::to_e164("+44 20 7946 0958", "US");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "+442079460958");
  EXPECT_EQ(phone::region_of("+442079460958"), "GB");
}

TEST(PhoneNumber, RejectsWhatIsNotANumber) {
  for (const char* bad : {"", "hello", "+1 555", "123", "+999 1234567"}) {
    auto r = phone::to_e164(bad, "US");
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, Errc::invalid_argument);
    }
  }
  EXPECT_FALSE(phone::to_e164(std::string(100, '1'), "US").ok());
}

TEST(PhoneNumber, SupportedRegions) {
  EXPECT_TRUE(phone::is_supported_region("US"));
  EXPECT_TRUE(phone::is_supported_region("DE"));
  EXPECT_FALSE(phone::is_supported_region("XX"));
  EXPECT_FALSE(phone::is_supported_region("us"));
}

}  // namespace rh
