// File: broker/kafka/producer_ids_test.cc
//
// Producer ids: unique per node, never handed out twice across restarts,
// and a damaged reservation file is an error, not a silent reset.

#include "broker/kafka/producer_ids.h"

#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

namespace fjord::broker {
namespace {

struct temp_file {
    std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                ("fjord_producer_ids_" + std::to_string(::getpid()) + "_" +
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
    temp_file() { std::filesystem::create_directories(dir); }
    ~temp_file() { std::filesystem::remove_all(dir); }
    std::string path() const { return (dir / "producer_ids").string(); }
    /// Another broker's data dir.
    std::string other() const {
        std::filesystem::create_directories(dir / "other");
        return (dir / "other").string();
    }
};

TEST(ProducerIds, CarryTheNodeIdAndAreNeverReusedAfterARestart) {
    temp_file f;
    std::set<int64_t> seen;
    for (int restart = 0; restart < 3; ++restart) {
        auto a = producer_id_allocator::open(f.dir.string(), 7);
        ASSERT_TRUE(a) << a.error().detail;
        // More than a block, so reservations are renewed while serving.
        for (uint32_t i = 0; i < producer_id_allocator::block + 5; ++i) {
            auto id = a->next();
            ASSERT_TRUE(id);
            EXPECT_EQ(*id >> 32, 7);
            EXPECT_TRUE(seen.insert(*id).second) << "id " << *id << " handed out twice";
        }
    }
    auto other = producer_id_allocator::open(f.other(), 8);
    ASSERT_TRUE(other);
    EXPECT_EQ(seen.count(*other->next()), 0u);
}

TEST(ProducerIds, ADamagedReservationIsRefused) {
    temp_file f;
    std::ofstream(f.path()) << "12ab\n";
    auto a = producer_id_allocator::open(f.dir.string(), 1);
    ASSERT_FALSE(a);
    EXPECT_NE(a.error().detail.find("not a producer id reservation"), std::string::npos);
    EXPECT_FALSE(producer_id_allocator::open(f.dir.string(), -1));
}

}  // namespace
}  // namespace fjord::broker
