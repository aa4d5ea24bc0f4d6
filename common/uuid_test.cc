// File: common/uuid_test.cc
//
// new_uuid(): canonical v4 text, distinct values; parse_uuid(): accepts either
// case and canonicalises, rejects every malformed shape.

#include "common/uuid.h"

#include <gtest/gtest.h>

#include <set>

namespace fjord {
namespace {

TEST(uuid, new_uuid_is_canonical_version_4) {
    for (int i = 0; i < 200; ++i) {
        const std::string u = new_uuid();
        ASSERT_EQ(u.size(), 36u) << u;
        for (size_t j = 0; j < u.size(); ++j) {
            if (j == 8 || j == 13 || j == 18 || j == 23) {
                ASSERT_EQ(u[j], '-') << u;
            } else {
                ASSERT_TRUE((u[j] >= '0' && u[j] <= '9') || (u[j] >= 'a' && u[j] <= 'f')) << u;
            }
        }
        EXPECT_EQ(u[14], '4') << u;  // version nibble
        EXPECT_NE(std::string_view("89ab").find(u[19]), std::string_view::npos) << u;  // variant
        EXPECT_EQ(parse_uuid(u), u);
    }
}

TEST(uuid, new_uuid_values_differ) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        seen.insert(new_uuid());
    }
    EXPECT_EQ(seen.size(), 1000u);
}

TEST(uuid, parse_canonicalises_case) {
    EXPECT_EQ(parse_uuid("9F1C0A52-6B1E-4C3D-8E2F-0A1B2C3D4E5F"),
              "9f1c0a52-6b1e-4c3d-8e2f-0a1b2c3d4e5f");
    EXPECT_EQ(parse_uuid("00000000-0000-0000-0000-000000000000"),
              "00000000-0000-0000-0000-000000000000");
}

TEST(uuid, parse_rejects_malformed) {
    for (const char* bad : {
             "",
             "9f1c0a52-6b1e-4c3d-8e2f-0a1b2c3d4e5",    // too short
             "9f1c0a52-6b1e-4c3d-8e2f-0a1b2c3d4e5f0",  // too long
             "9f1c0a526b1e4c3d8e2f0a1b2c3d4e5f",       // no dashes
             "9f1c0a52-6b1e-4c3d-8e2f_0a1b2c3d4e5f",   // wrong separator
             "9f1c0a5-26b1e-4c3d-8e2f-0a1b2c3d4e5f",   // dash misplaced
             "9g1c0a52-6b1e-4c3d-8e2f-0a1b2c3d4e5f",   // not hex
             "{9f1c0a52-6b1e-4c3d-8e2f-0a1b2c3d4e5}",  // braces
         }) {
        EXPECT_EQ(parse_uuid(bad), std::nullopt) << bad;
    }
}

}  // namespace
}  // namespace fjord
