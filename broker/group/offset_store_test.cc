// File: broker/group/offset_store_test.cc
//
// The offset records of __consumer_offsets (exact bytes, round trips, what
// is skipped) and their replay from a real partition log, in small steps,
// with foreign and damaged records mixed in.

#include "broker/group/offset_store.h"

#include <gtest/gtest.h>

#include "broker/storage/log_test_util.h"
#include "common/kafka/record_batch.h"

namespace fjord::broker {
namespace {

using storage::testing::temp_dir;

std::string bytes(std::initializer_list<int> v) {
    std::string s;
    for (int b : v) {
        s.push_back(static_cast<char>(b));
    }
    return s;
}

TEST(offset_records, key_and_value_bytes_are_kafkas_layout) {
    EXPECT_EQ(encode_offset_key({"g", "t", 3}), bytes({0, 1, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 3}));
    committed_offset c{258, 5, "md", 1000};
    EXPECT_EQ(encode_offset_value(c), bytes({0, 3,                              // version
                                             0, 0, 0,   0,   0, 0, 1, 2,        // offset 258
                                             0, 0, 0,   5,                      // leader epoch
                                             0, 2, 'm', 'd',                    // metadata
                                             0, 0, 0,   0,   0, 0, 3, 0xe8}));  // commit time 1000
}

TEST(offset_records, round_trip_and_tombstone) {
    const offset_key k{"group-1", "orders", 7};
    const committed_offset c{42, -1, "", 1700000000000};
    const std::string key = encode_offset_key(k);
    const std::string value = encode_offset_value(c);
    auto rec = decode_offset_record(key, value);
    ASSERT_TRUE(rec) << rec.error().message();
    ASSERT_TRUE(*rec);
    EXPECT_EQ((*rec)->key, k);
    EXPECT_EQ((*rec)->value, c);

    auto tomb = decode_offset_record(key, std::nullopt);
    ASSERT_TRUE(tomb);
    ASSERT_TRUE(*tomb);
    EXPECT_FALSE((*tomb)->value.has_value());
}

TEST(offset_records, other_kinds_are_skipped_and_garbage_is_an_error) {
    // Key version 2 is Kafka's group metadata: not ours to read, not an error.
    auto other = decode_offset_record(bytes({0, 2, 0, 1, 'g'}), std::string("x"));
    ASSERT_TRUE(other);
    EXPECT_FALSE(other->has_value());

    EXPECT_FALSE(decode_offset_record(std::nullopt, std::string("v")));
    EXPECT_FALSE(decode_offset_record(bytes({0}), std::nullopt));                // short
    EXPECT_FALSE(decode_offset_record(bytes({0, 1, 0, 9, 'g'}), std::nullopt));  // cut string
    std::string trailing = encode_offset_key({"g", "t", 0}) + "x";
    EXPECT_FALSE(decode_offset_record(trailing, std::nullopt));
    const std::string key = encode_offset_key({"g", "t", 0});
    auto v1 = decode_offset_record(key, bytes({0, 1, 0, 0, 0, 0, 0, 0, 0, 1}));
    ASSERT_FALSE(v1);
    EXPECT_NE(v1.error().detail.find("version 1 is not 3"), std::string::npos);
    std::string short_value = encode_offset_value({1, 1, "m", 1});
    short_value.pop_back();
    EXPECT_FALSE(decode_offset_record(key, short_value));
}

TEST(offset_records, value_v4_carries_the_topic_id_as_tag_0) {
    committed_offset c{258, 5, "md", 1000};
    c.topic_id = {0x0102030405060708, 0x090a0b0c0d0e0f10};
    // Kafka 4.1's OffsetCommitValue v4: flexible, the topic id tagged.
    EXPECT_EQ(encode_offset_value(c),
              bytes({0, 4,                           // version
                     0, 0,   0,   0, 0, 0, 1, 2,     // offset 258
                     0, 0,   0,   5,                 // leader epoch
                     3, 'm', 'd',                    // compact "md"
                     0, 0,   0,   0, 0, 0, 3, 0xe8,  // commit time
                     1,                              // one tag
                     0, 16,                          // tag 0, 16 bytes
                     1, 2,   3,   4, 5, 6, 7, 8,    9, 10, 11, 12, 13, 14, 15, 16}));  // topic id
    const std::string key = encode_offset_key({"g", "t", 0});
    auto rec = decode_offset_record(key, encode_offset_value(c));
    ASSERT_TRUE(rec) << rec.error().message();
    ASSERT_TRUE(*rec);
    EXPECT_EQ((*rec)->value, c);

    // v4 without the tag (Kafka's zero uuid is not written): an unknown id;
    // a later Kafka's unknown tag is ignored.
    auto untagged =
        decode_offset_record(key, bytes({0, 4, 0, 0, 0, 0, 0, 0, 0, 9, 255, 255, 255, 255,
                                         1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 7,   2,   'x', 'y'}));
    ASSERT_TRUE(untagged) << untagged.error().message();
    EXPECT_EQ((*untagged)->value, (committed_offset{9, -1, "", 1}));

    // A topic id of another size, or a cut tag section, is a damaged record.
    EXPECT_FALSE(decode_offset_record(key, bytes({0, 4, 0, 0, 0, 0, 0, 0, 0, 9, 255, 255, 255, 255,
                                                  1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0,   1,   7})));
    std::string cut = encode_offset_value(c);
    cut.pop_back();
    EXPECT_FALSE(decode_offset_record(key, cut));
    // An offset without an id is still written as v3, which every broker reads.
    EXPECT_EQ(encode_offset_value({1, -1, "", 1}).substr(0, 2), bytes({0, 3}));
    // v5 is not defined: skipped as foreign.
    auto v5 = decode_offset_record(key, bytes({0, 5, 0, 0, 0, 0, 0, 0, 0, 1}));
    ASSERT_FALSE(v5);
    EXPECT_NE(v5.error().detail.find("version 5 is not 3 or 4"), std::string::npos);
}

TEST(offset_store, put_find_erase_and_groups) {
    offset_store s;
    s.put({"a", "t", 0}, {1, -1, "", 10});
    s.put({"a", "t", 1}, {2, -1, "", 10});
    s.put({"b", "t", 0}, {3, -1, "", 10});
    s.put({"a", "t", 0}, {5, 2, "x", 11});  // the last commit wins
    ASSERT_NE(s.find("a", "t", 0), nullptr);
    EXPECT_EQ(s.find("a", "t", 0)->offset, 5);
    EXPECT_EQ(s.find("a", "u", 0), nullptr);
    EXPECT_EQ(s.group_offsets("a")->size(), 2u);
    s.erase({"b", "t", 0});
    EXPECT_FALSE(s.has_group("b"));  // a group without offsets is gone
    s.erase_groups_if([](const std::string& g) { return g == "a"; });
    EXPECT_TRUE(s.groups().empty());
}

/// A batch of offset commits as the coordinator writes it.
std::string commit_batch(
    const std::vector<std::pair<offset_key, std::optional<committed_offset>>>& v,
    int64_t ts = 1000) {
    kafka::record_batch_builder b;
    for (const auto& [k, c] : v) {
        if (c) {
            b.add(encode_offset_key(k), encode_offset_value(*c), ts);
        } else {
            b.add(encode_offset_key(k), std::nullopt, ts);
        }
    }
    return b.build();
}

TEST(offsets_loader, replays_a_log_in_small_steps_skipping_what_is_not_an_offset) {
    temp_dir dir;
    auto log = storage::partition_log::open(dir.log(), storage::log_config{}, 0);
    ASSERT_TRUE(log) << log.error().message();
    auto& l = **log;
    const auto append = [&](std::string batch) {
        auto r = l.append(std::move(batch), 0);
        ASSERT_TRUE(r) << r.error().message();
        // Committed (the loader replays up to the high watermark).
        ASSERT_TRUE(l.set_high_watermark(l.log_end_offset()));
    };
    append(commit_batch({{{"g", "t", 0}, committed_offset{10, -1, "", 1}},
                         {{"g", "t", 1}, committed_offset{20, -1, "m", 1}}}));
    // A foreign producer's records (kafka_api does not stop writes to the
    // topic): an offset key cut short is skipped and counted; a key of no
    // known version, like Kafka's group metadata record, is ignored.
    append(kafka::record_batch_builder()
               .add(bytes({0, 1, 0, 9, 'x'}), std::string("x"), 1)
               .add(std::string("garbage"), std::string("x"), 1)
               .build());
    append(kafka::record_batch_builder()
               .add(bytes({0, 2, 0, 1, 'g'}), std::string("group metadata"), 1)
               .build());
    append(commit_batch({{{"g", "t", 0}, committed_offset{11, 3, "", 2}},  // a later commit
                         {{"h", "t", 0}, committed_offset{5, -1, "", 2}}}));
    append(commit_batch({{{"g", "t", 1}, std::nullopt}}));  // a tombstone

    offset_store store;
    offsets_loader loader(l.log_start_offset());
    int steps = 0;
    bool done = false;
    while (!done) {
        auto r = loader.step(l, store, 1);  // one batch per step
        ASSERT_TRUE(r) << r.error().message();
        done = *r;
        ASSERT_LT(++steps, 100);
    }
    EXPECT_EQ(steps, 5);
    EXPECT_EQ(loader.next(), l.log_end_offset());
    EXPECT_EQ(loader.applied(), 5u);  // four commits and a tombstone
    EXPECT_EQ(loader.skipped(), 1u);
    EXPECT_NE(loader.first_skip_reason().find("record at offset 2"), std::string::npos)
        << loader.first_skip_reason();
    ASSERT_NE(store.find("g", "t", 0), nullptr);
    EXPECT_EQ(*store.find("g", "t", 0), (committed_offset{11, 3, "", 2}));
    EXPECT_EQ(store.find("g", "t", 1), nullptr);
    ASSERT_NE(store.find("h", "t", 0), nullptr);
    EXPECT_EQ(store.find("h", "t", 0)->offset, 5);

    // Nothing new: the next step is done at once.
    auto again = loader.step(l, store, 1 << 20);
    ASSERT_TRUE(again);
    EXPECT_TRUE(*again);
}

TEST(offsets_loader, an_empty_log_is_loaded_at_once) {
    temp_dir dir;
    auto log = storage::partition_log::open(dir.log(), storage::log_config{}, 0);
    ASSERT_TRUE(log);
    offset_store store;
    offsets_loader loader((*log)->log_start_offset());
    auto r = loader.step(**log, store, 1 << 20);
    ASSERT_TRUE(r);
    EXPECT_TRUE(*r);
    EXPECT_TRUE(store.groups().empty());
}

}  // namespace
}  // namespace fjord::broker
