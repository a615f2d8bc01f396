#include "engine/ids.hpp"

#include <gtest/gtest.h>

#include <unordered_set>

namespace herald {
namespace {

TEST(Ids, RoundTripThroughTheWireForm) {
  workspace_id ws{1000};
  EXPECT_EQ(to_string(ws), "ws_00000000000003e8");
  EXPECT_EQ(parse_id<workspace_id>("ws_00000000000003e8"), ws);
  enrollment_id big{0xFEDCBA9876543210ull};
  EXPECT_EQ(parse_id<enrollment_id>(to_string(big)), big);
  EXPECT_EQ(to_string(lead_id{1}), "lead_0000000000000001");
}

TEST(Ids, RejectMalformedText) {
  EXPECT_FALSE(parse_id<workspace_id>("acc_00000000000003e8")); // wrong type
  EXPECT_FALSE(parse_id<workspace_id>("ws_3e8"));               // too short
  EXPECT_FALSE(parse_id<workspace_id>("ws_00000000000003e80")); // too long
  EXPECT_FALSE(parse_id<workspace_id>("ws_00000000000003E8"));  // uppercase
  EXPECT_FALSE(parse_id<workspace_id>("ws_00000000000003g8"));  // not hex
  EXPECT_FALSE(parse_id<workspace_id>("ws_0000000000000000"));  // zero
  EXPECT_FALSE(parse_id<workspace_id>(""));
}

TEST(Ids, AreDistinctTypesAndHashable) {
  static_assert(!std::is_convertible_v<workspace_id, account_id>);
  std::unordered_set<account_id> set{account_id{1}, account_id{2},
                                     account_id{1}};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_LT(account_id{1}, account_id{2});
  EXPECT_FALSE(account_id{}.valid());
}

} // namespace
} // namespace herald
