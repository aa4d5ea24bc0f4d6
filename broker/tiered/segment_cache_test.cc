// File: broker/tiered/segment_cache_test.cc
//
// The segment cache and its download (segment_cache.h): a download is
// checked against the manifest (size, CRC-32C) and batch by batch, and a
// corrupt, truncated or over-long object never becomes an entry; chunked
// downloads; the size bound and LRU eviction; a restart keeps whole
// entries and removes half-written downloads, interrupted evictions and
// damaged entries.

#include "broker/tiered/segment_cache.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "broker/storage/errc.h"
#include "broker/tiered/test_util.h"
#include "common/objstore/errc.h"
#include "common/objstore/testing.h"

namespace fjord::broker::tiered_read {
namespace {

using testing::remote_log;
using testing::segment_spec;
namespace stdfs = std::filesystem;

struct fixture {
    storage::testing::temp_dir tmp;
    std::shared_ptr<objstore::object_store> bucket;
    std::string cache_dir;
    std::shared_ptr<fs::file_ops> fs = fs::posix_file_ops(make_error_code(storage::errc::io_error));

    fixture() {
        auto s = objstore::make_local_store(tmp.sub("bucket"));
        EXPECT_TRUE(s);
        bucket = std::move(*s);
        cache_dir = tmp.sub("cloud_cache");
        EXPECT_TRUE(fs->make_dir(cache_dir));
    }

    segment_ref ref_of(const remote_log& l, size_t i) const {
        return segment_ref{l.location, l.partition, l.manifest.segments.at(i)};
    }

    result<std::unique_ptr<storage::segment>> download(const segment_ref& ref,
                                                       download_outcome& out,
                                                       uint64_t chunk = 1 << 20,
                                                       uint32_t retries = 2) {
        return download_segment(*bucket, *fs, cache_dir, ref, chunk, retries, out);
    }

    /// The entries and leftovers in the cache directory.
    std::vector<std::string> listing() const {
        std::vector<std::string> out;
        for (const auto& e : stdfs::directory_iterator(cache_dir)) {
            out.push_back(e.path().filename().string());
        }
        std::sort(out.begin(), out.end());
        return out;
    }
};

/// Every batch of `seg`, read back through the segment reader.
std::string read_all(const storage::segment& seg) {
    storage::fetch_slice out;
    out.first_offset = out.next_offset = seg.base();
    storage::read_request r{seg.base(), seg.next(), uint64_t{1} << 40, true};
    auto got = seg.read(r, out);
    EXPECT_TRUE(got) << got.error().message();
    return out.bytes;
}

TEST(segment_download, a_verified_segment_reads_back_byte_for_byte) {
    fixture f;
    remote_log l;
    l.add({});
    l.upload(*f.bucket);
    download_outcome out;
    auto seg = f.download(f.ref_of(l, 0), out);
    ASSERT_TRUE(seg) << seg.error().message();
    EXPECT_EQ(read_all(**seg), l.objects[0]);
    EXPECT_EQ((*seg)->base().value(), 0);
    EXPECT_EQ((*seg)->next().value(), 20);
    EXPECT_EQ(out.bytes, l.objects[0].size());
    EXPECT_EQ(out.corrupt, 0u);
    // Exactly one entry, no leftovers.
    auto name = f.ref_of(l, 0).entry_name();
    ASSERT_TRUE(name);
    EXPECT_EQ(f.listing(), std::vector<std::string>{*name});
}

TEST(segment_download, by_ranges_when_larger_than_a_chunk) {
    fixture f;
    remote_log l;
    l.add({30, 3, 1000, 300});
    l.upload(*f.bucket);
    download_outcome out;
    // Chunks that cut batches in the middle.
    auto seg = f.download(f.ref_of(l, 0), out, 777);
    ASSERT_TRUE(seg) << seg.error().message();
    EXPECT_EQ(read_all(**seg), l.objects[0]);
    EXPECT_EQ(out.bytes, l.objects[0].size());
}

/// Replaces the object of segment 0 with `bytes`, the manifest unchanged.
void damage(fixture& f, const remote_log& l, const std::string& bytes) {
    ASSERT_TRUE(f.bucket->put(f.ref_of(l, 0).key(), bytes));
}

TEST(segment_download, a_corrupt_object_is_never_an_entry_and_is_tried_again) {
    for (uint64_t chunk : {uint64_t{1} << 20, uint64_t{500}}) {
        fixture f;
        remote_log l;
        l.add({});
        l.upload(*f.bucket);
        std::string bad = l.objects[0];
        bad[bad.size() / 2] ^= 0x10;
        damage(f, l, bad);
        download_outcome out;
        auto seg = f.download(f.ref_of(l, 0), out, chunk, 2);
        ASSERT_FALSE(seg);
        EXPECT_EQ(seg.code(), objstore::errc::corrupt) << seg.error().message();
        EXPECT_EQ(out.corrupt, 3u);
        EXPECT_EQ(out.attempts, 3u);
        EXPECT_TRUE(f.listing().empty()) << "chunk " << chunk;
    }
}

TEST(segment_download, truncated_and_over_long_objects_are_corrupt) {
    for (int how : {0, 1, 2}) {
        for (uint64_t chunk : {uint64_t{1} << 20, uint64_t{400}}) {
            fixture f;
            remote_log l;
            l.add({});
            l.upload(*f.bucket);
            std::string bytes = l.objects[0];
            if (how == 0) {
                bytes.resize(bytes.size() - 1);
            } else if (how == 1) {
                bytes.resize(bytes.size() / 2);
            } else {
                bytes += "x";
            }
            damage(f, l, bytes);
            download_outcome out;
            auto seg = f.download(f.ref_of(l, 0), out, chunk, 0);
            ASSERT_FALSE(seg) << how;
            EXPECT_EQ(seg.code(), objstore::errc::corrupt) << seg.error().message();
            EXPECT_TRUE(f.listing().empty());
        }
    }
}

TEST(segment_download, batches_are_checked_even_when_the_manifest_matches_the_bytes) {
    // A manifest written over damaged bytes (size and CRC of the damage):
    // the batch CRC still catches it.
    fixture f;
    remote_log l;
    l.add({});
    std::string bad = l.objects[0];
    bad[bad.size() - 3] ^= 0x01;
    l.objects[0] = bad;
    l.manifest.segments[0].crc32c = crc32c(bad);
    l.upload(*f.bucket);
    download_outcome out;
    auto seg = f.download(f.ref_of(l, 0), out, 1 << 20, 0);
    ASSERT_FALSE(seg);
    EXPECT_EQ(seg.code(), objstore::errc::corrupt);
    EXPECT_NE(seg.error().detail.find("crc"), std::string::npos) << seg.error().detail;
}

TEST(segment_download, offsets_must_match_the_manifest) {
    fixture f;
    remote_log l;
    l.add({});
    l.manifest.segments[0].last_offset += 5;  // claims more than it holds
    l.upload(*f.bucket);
    download_outcome out;
    auto seg = f.download(f.ref_of(l, 0), out, 1 << 20, 0);
    ASSERT_FALSE(seg);
    EXPECT_EQ(seg.code(), objstore::errc::corrupt);

    remote_log l2;
    l2.add({});
    l2.manifest.segments[0].base_offset = 3;  // the first batch starts below it
    l2.upload(*f.bucket);
    auto seg2 = f.download(f.ref_of(l2, 0), out, 1 << 20, 0);
    ASSERT_FALSE(seg2);
    EXPECT_EQ(seg2.code(), objstore::errc::corrupt);
}

TEST(segment_download, a_missing_object_is_not_found) {
    fixture f;
    remote_log l;
    l.add({});
    l.upload(*f.bucket);
    ASSERT_TRUE(f.bucket->del(f.ref_of(l, 0).key()));
    download_outcome out;
    auto seg = f.download(f.ref_of(l, 0), out);
    ASSERT_FALSE(seg);
    EXPECT_EQ(seg.code(), objstore::errc::not_found);
    EXPECT_TRUE(f.listing().empty());
}

TEST(segment_cache_test, eviction_keeps_the_cache_within_its_limit_lru_first) {
    fixture f;
    remote_log l;
    for (int i = 0; i < 5; ++i) {
        l.add({});
    }
    l.upload(*f.bucket);
    // Room for about three entries (logs and indexes).
    const uint64_t one = l.objects[0].size();
    auto cache = segment_cache::open(f.cache_dir, 3 * one + one / 2);
    ASSERT_TRUE(cache);
    std::vector<std::string> names;
    for (size_t i = 0; i < 5; ++i) {
        const segment_ref ref = f.ref_of(l, i);
        names.push_back(*ref.entry_name());
        (*cache)->reserve(ref.meta.size);
        download_outcome out;
        auto seg = f.download(ref, out);
        ASSERT_TRUE(seg);
        (*cache)->release(ref.meta.size);
        (*cache)->insert(names.back(), std::move(*seg));
        EXPECT_LE((*cache)->used_bytes(), (*cache)->limit());
        if (i == 2) {
            // Segment 0 is read again: segment 1 is now the oldest.
            auto again = (*cache)->find(names[0], 0);
            ASSERT_TRUE(again);
            ASSERT_NE(*again, nullptr);
        }
    }
    EXPECT_EQ((*cache)->entries(), 3u);
    EXPECT_EQ((*cache)->evictions(), 2u);
    EXPECT_TRUE((*cache)->contains(names[0]));
    EXPECT_FALSE((*cache)->contains(names[1]));
    EXPECT_FALSE((*cache)->contains(names[2]));
    EXPECT_TRUE((*cache)->contains(names[3]));
    EXPECT_TRUE((*cache)->contains(names[4]));
    // The files follow: exactly the three entries on disk.
    auto listing = f.listing();
    EXPECT_EQ(listing.size(), 3u);
    // A lower limit evicts down to it.
    (*cache)->set_limit(one + one / 2);
    EXPECT_EQ((*cache)->entries(), 1u);
    EXPECT_TRUE((*cache)->contains(names[4]));
    EXPECT_EQ(f.listing().size(), 1u);
}

TEST(segment_cache_test, a_segment_larger_than_the_whole_cache_is_still_served) {
    fixture f;
    remote_log l;
    l.add({});
    l.add({});
    l.upload(*f.bucket);
    auto cache = segment_cache::open(f.cache_dir, 100);  // smaller than any segment
    ASSERT_TRUE(cache);
    for (size_t i = 0; i < 2; ++i) {
        const segment_ref ref = f.ref_of(l, i);
        (*cache)->reserve(ref.meta.size);
        download_outcome out;
        auto seg = f.download(ref, out);
        ASSERT_TRUE(seg);
        (*cache)->release(ref.meta.size);
        (*cache)->insert(*ref.entry_name(), std::move(*seg));
        auto found = (*cache)->find(*ref.entry_name(), 0);
        ASSERT_TRUE(found);
        ASSERT_NE(*found, nullptr);
        EXPECT_EQ(read_all(**found), l.objects[i]);
    }
    // The first went when the second needed room.
    EXPECT_EQ((*cache)->entries(), 1u);
    EXPECT_EQ(f.listing().size(), 1u);
}

TEST(segment_cache_test, restart_keeps_whole_entries_and_removes_the_rest) {
    fixture f;
    remote_log l;
    for (int i = 0; i < 4; ++i) {
        l.add({});
    }
    l.upload(*f.bucket);
    std::vector<std::string> names;
    for (size_t i = 0; i < 4; ++i) {
        download_outcome out;
        ASSERT_TRUE(f.download(f.ref_of(l, i), out));
        names.push_back(*f.ref_of(l, i).entry_name());
    }
    const std::string d = f.cache_dir + "/";
    // A download a crash interrupted: half a log in <entry>.part.
    stdfs::create_directory(d + "x.part");
    storage::testing::write_bytes(d + "x.part/00000000000000000000.log",
                                  l.objects[0].substr(0, 100));
    // An interrupted eviction.
    stdfs::rename(d + names[1], d + names[1] + ".del");
    // An entry whose log lost its tail (not whole: removed).
    stdfs::resize_file(d + names[2] + "/" + storage::segment_file_name(kafka_offset{40}, ".log"),
                       l.objects[2].size() - 7);
    // An entry without its indexes: whole, reopened by rebuilding them.
    stdfs::remove(d + names[3] + "/" + storage::segment_file_name(kafka_offset{60}, ".index"));
    // Something else.
    storage::testing::write_bytes(d + "stray", "x");

    auto cache = segment_cache::open(f.cache_dir, uint64_t{1} << 30);
    ASSERT_TRUE(cache);
    EXPECT_EQ((*cache)->entries(), 2u);
    EXPECT_EQ((*cache)->recovered(), 2u);
    EXPECT_EQ((*cache)->discarded(), 4u);
    std::vector<std::string> want = {names[0], names[3]};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(f.listing(), want);
    for (size_t i : {size_t{0}, size_t{3}}) {
        auto found = (*cache)->find(names[i], 0);
        ASSERT_TRUE(found) << found.error().message();
        ASSERT_NE(*found, nullptr);
        EXPECT_EQ(read_all(**found), l.objects[i]);
    }
    EXPECT_GT((*cache)->used_bytes(), l.objects[0].size() + l.objects[3].size());
}

TEST(segment_cache_test, an_entry_that_no_longer_opens_is_dropped) {
    fixture f;
    remote_log l;
    l.add({});
    l.upload(*f.bucket);
    download_outcome out;
    ASSERT_TRUE(f.download(f.ref_of(l, 0), out));
    const std::string name = *f.ref_of(l, 0).entry_name();
    // Its indexes gone and a batch damaged: the rebuild fails the open.
    const std::string dir = f.cache_dir + "/" + name + "/";
    stdfs::remove(dir + "00000000000000000000.index");
    storage::testing::flip_bit(dir + "00000000000000000000.log", 200 * 8);
    auto cache = segment_cache::open(f.cache_dir, uint64_t{1} << 30);
    ASSERT_TRUE(cache);
    ASSERT_TRUE((*cache)->contains(name));
    auto found = (*cache)->find(name, 0);
    EXPECT_FALSE(found);
    EXPECT_FALSE((*cache)->contains(name));
    EXPECT_TRUE(f.listing().empty());
}

TEST(segment_cache_test, entry_names_round_trip) {
    remote_log l;
    l.add({});
    segment_ref ref{l.location, 7, l.manifest.segments[0]};
    auto name = ref.entry_name();
    ASSERT_TRUE(name);
    auto parts = parse_entry_name(*name);
    ASSERT_TRUE(parts);
    EXPECT_EQ(parts->base_offset, 0);
    EXPECT_EQ(parts->last_offset, 19);
    EXPECT_EQ(parts->size, l.objects[0].size());
    EXPECT_FALSE(parse_entry_name(*name + ".part"));
    EXPECT_FALSE(parse_entry_name("x"));
    segment_ref bad{"not a location", 0, l.manifest.segments[0]};
    EXPECT_FALSE(bad.entry_name());
}

}  // namespace
}  // namespace fjord::broker::tiered_read
