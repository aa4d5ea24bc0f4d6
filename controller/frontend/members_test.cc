// File: controller/frontend/members_test.cc
//
// fips_mode_outliers (members.h): the count behind
// fjord_cluster_non_homogenous_fips_mode.

#include <gtest/gtest.h>

#include "controller/frontend/members.h"

namespace fjord::frontend {
namespace {

constexpr auto D = v1::FIPS_MODE_DISABLED;
constexpr auto P = v1::FIPS_MODE_PERMISSIVE;
constexpr auto E = v1::FIPS_MODE_ENABLED;
constexpr auto U = v1::FIPS_MODE_UNSPECIFIED;

TEST(fips_mode_outliers, counts_what_differs_from_the_most_common_mode) {
    EXPECT_EQ(fips_mode_outliers({}), 0u);
    EXPECT_EQ(fips_mode_outliers({E, E, E, E}), 0u);
    EXPECT_EQ(fips_mode_outliers({E, E, E, D}), 1u);
    // The odd one out counts once, whatever the leader's own mode.
    EXPECT_EQ(fips_mode_outliers({D, E, E, E}), 1u);
    EXPECT_EQ(fips_mode_outliers({E, E, P, D}), 2u);
    // A tie: all but one group, whichever is called the majority.
    EXPECT_EQ(fips_mode_outliers({E, E, D, D}), 2u);
}

TEST(fips_mode_outliers, unknown_modes_are_left_out) {
    EXPECT_EQ(fips_mode_outliers({U, U}), 0u);
    EXPECT_EQ(fips_mode_outliers({E, E, U}), 0u);
    EXPECT_EQ(fips_mode_outliers({E, U, D, E}), 1u);
}

}  // namespace
}  // namespace fjord::frontend
