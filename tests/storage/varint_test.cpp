#include "storage/codec.hpp"

#include <gtest/gtest.h>

#include "codec_samples.hpp"

// The varint and zigzag primitives.

namespace herald::storage {
namespace {

using namespace codec_samples;
using namespace std::chrono_literals;

TEST(Varint, RoundTripsAtEverySizeBoundary) {
  std::vector<uint64_t> values{0, 1, 127, 128, 300, 16'383, 16'384};
  for (int bits = 21; bits <= 63; bits += 7) {
    values.push_back((uint64_t{1} << bits) - 1);
    values.push_back(uint64_t{1} << bits);
  }
  values.push_back(std::numeric_limits<uint64_t>::max());
  for (auto v : values) {
    std::string out = "x";
    put_varint(out, v);
    ASSERT_EQ(out.size(), 1 + varint_size(v)) << v;
    out += "rest";
    std::string_view in{out};
    in.remove_prefix(1);
    auto r = get_varint(in);
    EXPECT_EQ(r.status, varint_status::ok) << v;
    EXPECT_EQ(r.value, v);
    EXPECT_EQ(in, "rest");
  }
  EXPECT_EQ(varint_size(0), 1u);
  EXPECT_EQ(varint_size(std::numeric_limits<uint64_t>::max()), 10u);
}

TEST(Varint, TruncatedAndOverlongLeaveTheInputAlone) {
  std::string_view cut{"\x80\x80", 2};
  auto r = get_varint(cut);
  EXPECT_EQ(r.status, varint_status::truncated);
  EXPECT_EQ(cut.size(), 2u);
  std::string_view empty;
  EXPECT_EQ(get_varint(empty).status, varint_status::truncated);

  std::string long_one(11, '\x80');
  std::string_view in{long_one};
  EXPECT_EQ(get_varint(in).status, varint_status::overlong);
  EXPECT_EQ(in.size(), 11u);
  std::string_view top{"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10};
  EXPECT_EQ(get_varint(top).value, std::numeric_limits<uint64_t>::max());
  std::string_view over{"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10};
  EXPECT_EQ(get_varint(over).status, varint_status::overlong);
}

TEST(Varint, ZigzagKeepsSmallMagnitudesSmall) {
  EXPECT_EQ(zigzag(0), 0u);
  EXPECT_EQ(zigzag(-1), 1u);
  EXPECT_EQ(zigzag(1), 2u);
  EXPECT_EQ(zigzag(-2), 3u);
  EXPECT_EQ(zigzag(max_ms), std::numeric_limits<uint64_t>::max() - 1);
  EXPECT_EQ(zigzag(min_ms), std::numeric_limits<uint64_t>::max());
  for (auto v : {int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{-64}, int64_t{63},
                 min_ms, min_ms + 1, max_ms, max_ms - 1})
    EXPECT_EQ(unzigzag(zigzag(v)), v);
  std::string out;
  put_signed_varint(out, -64);
  EXPECT_EQ(out.size(), 1u);
}

} // namespace
} // namespace herald::storage
