// File: broker/cluster/cluster_record_test.cc
//
// <data_dir>/cluster_record: durable, checksummed, never going back, never
// changing cluster.

#include "broker/cluster/cluster_record.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "broker/storage/log_test_util.h"
#include "common/data_dir.h"

namespace fjord::broker {
namespace {

using storage::testing::temp_dir;

constexpr const char* cluster_a = "9f1c0a52-6b1e-4c3d-8e2f-0a1b2c3d4e5f";
constexpr const char* cluster_b = "1b2c3d4e-0000-4000-8000-5f6e7d8c9b0a";

std::string path_of(const temp_dir& d) {
    return d.path() + "/" + std::string(cluster_record::file_name);
}

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(cluster_record, no_file_is_an_empty_record) {
    temp_dir d;
    auto r = cluster_record::open(d.path());
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->exists());
    EXPECT_EQ(r->cluster_uuid(), "");
    EXPECT_EQ(r->revision(), 0u);
    EXPECT_FALSE(std::filesystem::exists(path_of(d))) << "opening writes nothing";
}

TEST(cluster_record, advance_writes_durably_and_a_restart_reads_it_back) {
    temp_dir d;
    auto r = cluster_record::open(d.path());
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->advance(cluster_a, 42));
    EXPECT_TRUE(r->exists());
    const std::string text = read(path_of(d));
    EXPECT_NE(text.find("cluster_uuid=" + std::string(cluster_a) + "\n"), std::string::npos);
    EXPECT_NE(text.find("applied_revision=42\n"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(path_of(d) + ".tmp"));
    auto again = cluster_record::open(d.path());
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->exists());
    EXPECT_EQ(again->cluster_uuid(), cluster_a);
    EXPECT_EQ(again->revision(), 42u);
}

TEST(cluster_record, the_revision_never_goes_back_and_the_cluster_never_changes) {
    temp_dir d;
    auto r = cluster_record::open(d.path());
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->advance(cluster_a, 42));
    ASSERT_TRUE(r->advance(cluster_a, 7));
    EXPECT_EQ(r->revision(), 42u);
    ASSERT_TRUE(r->advance("", 50));  // no uuid: keeps the recorded one
    EXPECT_EQ(r->cluster_uuid(), cluster_a);
    auto foreign = r->advance(cluster_b, 60);
    ASSERT_FALSE(foreign);
    EXPECT_EQ(foreign.error().code, make_error_code(data_dir_errc::foreign_cluster));
    EXPECT_NE(foreign.error().detail.find(cluster_b), std::string::npos);
    EXPECT_EQ(r->revision(), 50u);
    EXPECT_EQ(cluster_record::open(d.path())->revision(), 50u) << "nothing written";
}

TEST(cluster_record, a_cluster_is_adopted_once_when_none_was_known) {
    temp_dir d;
    auto r = cluster_record::open(d.path());
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->advance("", 3));  // a cluster without a uuid yet
    EXPECT_EQ(r->cluster_uuid(), "");
    ASSERT_TRUE(r->advance(cluster_b, 4));
    EXPECT_EQ(cluster_record::open(d.path())->cluster_uuid(), cluster_b);
}

TEST(cluster_record, damage_is_an_error_naming_the_file) {
    temp_dir d;
    {
        auto r = cluster_record::open(d.path());
        ASSERT_TRUE(r);
        ASSERT_TRUE(r->advance(cluster_a, 42));
    }
    std::string text = read(path_of(d));
    const size_t at = text.find("=42");
    ASSERT_NE(at, std::string::npos);
    text[at + 1] = '9';  // applied_revision=92: edited
    std::ofstream(path_of(d), std::ios::binary | std::ios::trunc) << text;
    auto r = cluster_record::open(d.path());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(data_dir_errc::corrupt));
    EXPECT_NE(r.error().detail.find(path_of(d)), std::string::npos);
    EXPECT_NE(r.error().detail.find("checksum mismatch"), std::string::npos);

    std::ofstream(path_of(d), std::ios::binary | std::ios::trunc) << "garbage";
    EXPECT_FALSE(cluster_record::open(d.path()));
}

}  // namespace
}  // namespace fjord::broker
