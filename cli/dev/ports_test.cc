// File: cli/dev/ports_test.cc
//
// A named dev cluster's port block (ports.h named_port_block): stable,
// inside [20000, 32000), and clear of the default cluster's ports.

#include "cli/dev/ports.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace fjord::cli::dev {
namespace {

TEST(DevPorts, NamedBlocksAreStableAndClearOfTheDefaults) {
    EXPECT_EQ(named_port_block("dst"), named_port_block("dst"));
    std::set<uint16_t> blocks;
    for (const std::string name : {"src", "dst", "a", "shadow", "source", "b2", "x-y.z"}) {
        const uint16_t b = named_port_block(name);
        EXPECT_GE(b, 20000);
        EXPECT_LT(b + 250, 32768) << name;  // below Linux's ephemeral range
        EXPECT_EQ((b - 20000) % 250, 0) << name;
        blocks.insert(b);
        // 7 members at +10i..+10i+2, 9 brokers at +100+10i..+101+10i: all
        // inside the block, above the default cluster's 9644 + 1000 * 6 + 1.
        EXPECT_GT(b, 15645);
    }
    EXPECT_NE(named_port_block("src"), named_port_block("dst"));
    EXPECT_GE(blocks.size(), 5u);
}

}  // namespace
}  // namespace fjord::cli::dev
