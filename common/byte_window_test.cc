// File: common/byte_window_test.cc
//
// The receive window's growth rule: grow while receives fill it, to hold
// what a caller says the next frame needs, never past the cap, never
// losing unconsumed bytes.

#include "common/byte_window.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace fjord {
namespace {

void put(byte_window& w, const std::string& s) {
    ASSERT_GE(w.free_space().size(), s.size());
    std::memcpy(w.free_space().data(), s.data(), s.size());
    w.commit(s.size());
}

TEST(byte_window, starts_at_initial_and_stays_while_receives_do_not_fill_it) {
    byte_window w;
    w.prepare_receive(16, 128);
    EXPECT_EQ(w.capacity(), 16u);
    put(w, "abc");
    w.consume(3);
    w.prepare_receive(16, 128);
    EXPECT_EQ(w.capacity(), 16u);
}

TEST(byte_window, doubles_after_a_filling_receive_up_to_the_cap) {
    byte_window w;
    size_t expected[] = {32, 64, 128, 128};
    w.prepare_receive(16, 128);
    for (size_t e : expected) {
        put(w, std::string(w.free_space().size(), 'x'));  // fills it
        w.consume(w.size());
        w.prepare_receive(16, 128);
        EXPECT_EQ(w.capacity(), e);
    }
    // A receive that does not fill it: no further change, no shrink.
    put(w, "y");
    w.consume(1);
    w.prepare_receive(16, 128);
    EXPECT_EQ(w.capacity(), 128u);
}

TEST(byte_window, one_fill_doubles_once_however_often_it_is_prepared) {
    // A TLS receive path prepares again without a commit when the bytes it
    // received decrypt to nothing yet: that must not double again.
    byte_window w;
    w.prepare_receive(16, 1024);
    put(w, std::string(16, 'x'));
    w.consume(16);
    w.prepare_receive(16, 1024);
    EXPECT_EQ(w.capacity(), 32u);
    w.prepare_receive(16, 1024);
    EXPECT_EQ(w.capacity(), 32u);
}

TEST(byte_window, grows_to_hold_want_and_keeps_unconsumed_bytes_in_order) {
    byte_window w;
    w.prepare_receive(8, 1024);
    put(w, "abcdefgh");
    w.consume(2);
    w.prepare_receive(8, 1024, 100);  // the frame in progress needs 100 bytes
    EXPECT_EQ(w.capacity(), 128u);
    ASSERT_EQ(w.size(), 6u);
    EXPECT_EQ(std::string(w.data(), w.size()), "cdefgh");
    EXPECT_EQ(w.free_space().size(), 122u);
    w.prepare_receive(8, 64, 1000);  // the cap wins over want, never below capacity
    EXPECT_EQ(w.capacity(), 128u);
    w.prepare_receive(8, 256, SIZE_MAX);  // any want ends at the cap
    EXPECT_EQ(w.capacity(), 256u);
}

}  // namespace
}  // namespace fjord
