// File: common/objstore/local_store_test.cc
//
// The directory backend keeps object_store.h's contract: atomic puts,
// exact gets and ranges, not_found, sorted prefix listing that never shows
// an upload in progress, idempotent deletes, the key rule.

#include "common/objstore/local_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/fs/test_util.h"
#include "common/objstore/config.h"
#include "common/objstore/errc.h"

namespace fjord::objstore {
namespace {

class LocalStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto s = make_local_store(_dir.path() + "/bucket");
        ASSERT_TRUE(s) << s.error().message();
        _store = std::move(*s);
    }
    fs::testing::temp_dir _dir;
    std::unique_ptr<object_store> _store;
};

TEST_F(LocalStoreTest, PutGetHeadDelete) {
    ASSERT_TRUE(_store->put("topics/t/0/manifest.json", "hello"));
    auto g = _store->get("topics/t/0/manifest.json");
    ASSERT_TRUE(g);
    EXPECT_EQ(*g, "hello");
    auto h = _store->head("topics/t/0/manifest.json");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->size, 5u);
    ASSERT_TRUE(_store->put("topics/t/0/manifest.json", "replaced"));
    EXPECT_EQ(*_store->get("topics/t/0/manifest.json"), "replaced");
    ASSERT_TRUE(_store->del("topics/t/0/manifest.json"));
    EXPECT_EQ(_store->get("topics/t/0/manifest.json").error().code, errc::not_found);
    EXPECT_EQ(_store->head("topics/t/0/manifest.json").error().code, errc::not_found);
    // Deleting what is gone succeeds, as in S3.
    EXPECT_TRUE(_store->del("topics/t/0/manifest.json"));
    EXPECT_TRUE(_store->del("never/was/here"));
}

TEST_F(LocalStoreTest, Ranges) {
    ASSERT_TRUE(_store->put("k", "0123456789"));
    EXPECT_EQ(*_store->get("k", byte_range{2, 4}), "234");
    EXPECT_EQ(*_store->get("k", byte_range{8, 100}), "89");  // clipped, as HTTP does
    EXPECT_EQ(_store->get("k", byte_range{10, 12}).error().code, errc::rejected);
    EXPECT_EQ(_store->get("k", byte_range{5, 4}).error().code, errc::rejected);
}

TEST_F(LocalStoreTest, ListIsSortedPrefixedAndHidesUploads) {
    for (const char* k : {"a/2", "a/1", "a/b/3", "b/1", "ab"}) {
        ASSERT_TRUE(_store->put(k, k));
    }
    // An upload a crash interrupted.
    std::ofstream(_dir.path() + "/bucket/a/4.0123.fjord-tmp") << "partial";
    auto l = _store->list("a/");
    ASSERT_TRUE(l);
    std::vector<std::string> keys;
    for (const auto& o : *l) {
        keys.push_back(o.key);
    }
    EXPECT_EQ(keys, (std::vector<std::string>{"a/1", "a/2", "a/b/3"}));
    auto all = _store->list("a");
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 4u);  // a/1 a/2 a/b/3 ab
    EXPECT_TRUE(_store->list("nothing/").value().empty());
}

TEST_F(LocalStoreTest, KeyRule) {
    for (const char* k : {"", "/abs", "a//b", "a/../b", "./a", "a b", "x.fjord-tmp"}) {
        EXPECT_EQ(_store->put(k, "x").error().code, errc::invalid_key) << k;
    }
    EXPECT_FALSE(std::filesystem::exists(_dir.path() + "/b"));
}

TEST_F(LocalStoreTest, ConfigNamesTheMissingKey) {
    std::map<std::string, std::string> cfg{{"cloud_storage_enabled", "true"}};
    auto lookup = [&](std::string_view k) -> std::optional<std::string> {
        auto it = cfg.find(std::string(k));
        return it == cfg.end() ? std::nullopt : std::optional(it->second);
    };
    EXPECT_TRUE(cloud_storage_enabled(lookup));
    auto c = store_config_from(lookup);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().field, "cloud_storage_local_directory");
    cfg["cloud_storage_backend"] = "s3";
    EXPECT_EQ(store_config_from(lookup).error().field, "cloud_storage_bucket");
    cfg["cloud_storage_bucket"] = "b";
    cfg["cloud_storage_api_endpoint_port"] = "9000";
    cfg["cloud_storage_url_style"] = "path";
    auto s3 = store_config_from(lookup);
    ASSERT_TRUE(s3) << s3.error().message();
    EXPECT_EQ(s3->port, 9000);
    EXPECT_TRUE(s3->path_style);
    EXPECT_EQ(make_local_store("relative/dir").error().field, "cloud_storage_local_directory");
}

}  // namespace
}  // namespace fjord::objstore
