// File: common/tiered/manifest.cc
//
// JSON encodings of the manifests (manifest.h). Decoding never throws: the
// parser runs without exceptions and every field is type-checked before it
// is read, so a damaged or foreign object is errc::corrupt with a reason.

#include "common/tiered/manifest.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/objstore/errc.h"

namespace fjord::tiered {
namespace {

using json = nlohmann::json;
constexpr int format_version = 1;

/// Reads fields of one JSON object, remembering the first problem.
class reader {
  public:
    reader(const json& j, std::string where) : _j(j), _where(std::move(where)) {
        if (!_j.is_object()) {
            fail("", "not a JSON object");
        }
    }
    int64_t i64(const char* f) {
        const json* v = field(f);
        if (v == nullptr) {
            return 0;
        }
        if (!v->is_number_integer()) {
            fail(f, "not an integer");
            return 0;
        }
        return v->get<int64_t>();
    }
    uint64_t u64(const char* f) {
        const json* v = field(f);
        if (v == nullptr) {
            return 0;
        }
        if (!v->is_number_unsigned()) {
            fail(f, "not an unsigned integer");
            return 0;
        }
        return v->get<uint64_t>();
    }
    std::string str(const char* f) {
        const json* v = field(f);
        if (v == nullptr) {
            return {};
        }
        if (!v->is_string()) {
            fail(f, "not a string");
            return {};
        }
        return v->get<std::string>();
    }
    const json* array(const char* f) {
        const json* v = field(f);
        if (v != nullptr && !v->is_array()) {
            fail(f, "not an array");
            return nullptr;
        }
        return v;
    }
    const json* optional_object(const char* f) {
        if (!_j.is_object() || !_j.contains(f) || _j.at(f).is_null()) {
            return nullptr;
        }
        if (!_j.at(f).is_object()) {
            fail(f, "not an object");
            return nullptr;
        }
        return &_j.at(f);
    }
    void fail(std::string_view f, std::string_view why) {
        if (_error.empty()) {
            _error = f.empty() ? fmt::format("{}: {}", _where, why)
                               : fmt::format("{}.{}: {}", _where, f, why);
        }
    }
    const std::string& error() const { return _error; }

  private:
    const json* field(const char* f) {
        if (!_j.is_object()) {
            return nullptr;
        }
        auto it = _j.find(f);
        if (it == _j.end()) {
            fail(f, "missing");
            return nullptr;
        }
        return &*it;
    }
    const json& _j;
    std::string _where;
    std::string _error;
};

error_info corrupt(std::string_view key, std::string_view why) {
    return error_info(objstore::errc::corrupt, fmt::format("{}: {}", key, why));
}

}  // namespace

int64_t partition_manifest::next_offset() const {
    return segments.empty() ? start_offset
                            : std::max(start_offset, segments.back().last_offset + 1);
}

uint64_t partition_manifest::size_bytes() const {
    uint64_t n = 0;
    for (const auto& s : segments) {
        n += s.size;
    }
    return n;
}

const segment_meta* partition_manifest::find(int64_t offset) const {
    auto it = std::lower_bound(segments.begin(), segments.end(), offset,
                               [](const segment_meta& s, int64_t o) { return s.last_offset < o; });
    return it == segments.end() ? nullptr : &*it;
}

std::string encode(const partition_manifest& m) {
    json segs = json::array();
    for (const auto& s : m.segments) {
        segs.push_back({{"name", s.name},
                        {"base_offset", s.base_offset},
                        {"last_offset", s.last_offset},
                        {"base_timestamp", s.base_timestamp},
                        {"max_timestamp", s.max_timestamp},
                        {"epoch", s.epoch},
                        {"size", s.size},
                        {"crc32c", s.crc32c}});
    }
    json j = {{"version", format_version},        {"location", m.location},
              {"partition", m.partition},         {"start_offset", m.start_offset},
              {"sequence", m.sequence},           {"segments", std::move(segs)},
              {"owner_cluster", m.owner_cluster}, {"final", nullptr}};
    if (m.final) {
        j["final"] = {{"migration_id", m.final->migration_id},
                      {"next_offset", m.final->next_offset}};
    }
    return j.dump(1);
}

result<partition_manifest> decode_partition_manifest(std::string_view bytes, std::string_view key) {
    const json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
    if (j.is_discarded()) {
        return corrupt(key, "not JSON");
    }
    reader r(j, "manifest");
    partition_manifest m;
    if (r.i64("version") != format_version && r.error().empty()) {
        return corrupt(key, fmt::format("format version {} (this build reads {})",
                                        j.value("version", 0), format_version));
    }
    m.location = r.str("location");
    m.partition = static_cast<int32_t>(r.i64("partition"));
    m.start_offset = r.i64("start_offset");
    m.sequence = r.u64("sequence");
    if (j.is_object() && j.contains("owner_cluster")) {
        m.owner_cluster = r.str("owner_cluster");
    }
    if (const json* segs = r.array("segments")) {
        for (size_t i = 0; i < segs->size(); ++i) {
            reader s((*segs)[i], fmt::format("segments[{}]", i));
            segment_meta sm;
            sm.name = s.str("name");
            sm.base_offset = s.i64("base_offset");
            sm.last_offset = s.i64("last_offset");
            sm.base_timestamp = s.i64("base_timestamp");
            sm.max_timestamp = s.i64("max_timestamp");
            sm.epoch = s.i64("epoch");
            sm.size = s.u64("size");
            const uint64_t crc = s.u64("crc32c");
            if (crc > 0xffffffffu) {
                s.fail("crc32c", "above 2^32");
            }
            sm.crc32c = static_cast<uint32_t>(crc);
            if (!s.error().empty()) {
                return corrupt(key, s.error());
            }
            m.segments.push_back(std::move(sm));
        }
    }
    if (const json* f = r.optional_object("final")) {
        reader fr(*f, "final");
        final_marker fm{fr.i64("migration_id"), fr.i64("next_offset")};
        if (!fr.error().empty()) {
            return corrupt(key, fr.error());
        }
        m.final = fm;
    }
    if (!r.error().empty()) {
        return corrupt(key, r.error());
    }
    if (m.partition < 0 || m.start_offset < 0) {
        return corrupt(key, "negative partition or start_offset");
    }
    for (size_t i = 0; i < m.segments.size(); ++i) {
        const auto& s = m.segments[i];
        if (s.base_offset < 0 || s.base_offset > s.last_offset) {
            return corrupt(key, fmt::format("segments[{}]: base_offset {} > last_offset {}", i,
                                            s.base_offset, s.last_offset));
        }
        if (i > 0 && s.base_offset <= m.segments[i - 1].last_offset) {
            return corrupt(key, fmt::format("segments[{}]: base_offset {} overlaps the previous "
                                            "segment (last_offset {})",
                                            i, s.base_offset, m.segments[i - 1].last_offset));
        }
        if (s.last_offset < m.start_offset) {
            return corrupt(
                key, fmt::format("segments[{}]: wholly below start_offset {}", i, m.start_offset));
        }
        if (s.name.empty() || s.name.find('/') != std::string::npos) {
            return corrupt(key, fmt::format("segments[{}].name: empty or holds '/'", i));
        }
    }
    if (m.final && m.final->next_offset != m.next_offset()) {
        return corrupt(key, fmt::format("final.next_offset {} is not the manifest's end {}",
                                        m.final->next_offset, m.next_offset()));
    }
    return m;
}

std::string encode(const topic_mount_manifest& m) {
    json configs = json::object();
    for (const auto& [k, v] : m.configs) {
        configs[k] = v;
    }
    json j = {{"version", format_version},      {"topic", m.topic},
              {"location", m.location},         {"cluster_uuid", m.cluster_uuid},
              {"topic_uuid", m.topic_uuid},     {"replication_factor", m.replication_factor},
              {"configs", std::move(configs)},  {"next_offsets", m.next_offsets},
              {"migration_id", m.migration_id}, {"unmounted_ms", m.unmounted_ms}};
    return j.dump(1);
}

result<topic_mount_manifest> decode_topic_mount_manifest(std::string_view bytes,
                                                         std::string_view key) {
    const json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
    if (j.is_discarded()) {
        return corrupt(key, "not JSON");
    }
    reader r(j, "topic manifest");
    if (r.i64("version") != format_version && r.error().empty()) {
        return corrupt(key, "unknown format version");
    }
    topic_mount_manifest m;
    m.topic = r.str("topic");
    m.location = r.str("location");
    m.cluster_uuid = r.str("cluster_uuid");
    m.topic_uuid = r.str("topic_uuid");
    m.replication_factor = static_cast<int32_t>(r.i64("replication_factor"));
    m.migration_id = r.i64("migration_id");
    m.unmounted_ms = r.i64("unmounted_ms");
    if (j.is_object() && j.contains("configs")) {
        if (!j["configs"].is_object()) {
            r.fail("configs", "not an object");
        } else {
            for (const auto& [k, v] : j["configs"].items()) {
                if (!v.is_string()) {
                    r.fail("configs", "a value is not a string");
                    break;
                }
                m.configs[k] = v.get<std::string>();
            }
        }
    } else {
        r.fail("configs", "missing");
    }
    if (const json* offs = r.array("next_offsets")) {
        for (const auto& o : *offs) {
            if (!o.is_number_integer() || o.get<int64_t>() < 0) {
                r.fail("next_offsets", "an element is not a non-negative integer");
                break;
            }
            m.next_offsets.push_back(o.get<int64_t>());
        }
    }
    if (!r.error().empty()) {
        return corrupt(key, r.error());
    }
    if (m.next_offsets.empty()) {
        return corrupt(key, "next_offsets: no partitions");
    }
    if (m.replication_factor < 1) {
        return corrupt(key, "replication_factor below 1");
    }
    return m;
}

}  // namespace fjord::tiered
