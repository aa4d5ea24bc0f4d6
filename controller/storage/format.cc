// File: controller/storage/format.cc
//
// Encoders and validating decoders for the durable log's files (format.h).
// Decoders never trust a length before checking it against the bytes present
// and never allocate from an unverified length.

#include "controller/storage/format.h"

#include <fmt/format.h>

#include "common/crc32c.h"
#include "controller/raft/errc.h"

namespace fjord::storage::format {
namespace {

void put_u32(std::string& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
    }
}

void put_u64(std::string& out, uint64_t v) {
    for (int i = 0; i < 8; ++i) {
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
    }
}

/// Callers guarantee `off + 4 <= buf.size()`.
uint32_t get_u32(std::string_view buf, uint64_t off) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
        v |= static_cast<uint32_t>(static_cast<uint8_t>(buf[off + i])) << (8 * i);
    }
    return v;
}

/// Callers guarantee `off + 8 <= buf.size()`.
uint64_t get_u64(std::string_view buf, uint64_t off) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        v |= static_cast<uint64_t>(static_cast<uint8_t>(buf[off + i])) << (8 * i);
    }
    return v;
}

error_info corrupt_at(const std::string& path, uint64_t offset, std::string_view reason) {
    return error_info(raft::errc::corrupt,
                      fmt::format("{} at offset {}: {}", path, offset, reason));
}

bool valid_type(uint8_t t) {
    return t <= static_cast<uint8_t>(raft::entry_type::conf_change);
}

/// Parses the name "<20 digits><suffix>".
bool parse_name(std::string_view name, std::string_view suffix, uint64_t& out) {
    if (name.size() != 20 + suffix.size() || name.substr(20) != suffix) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < 20; ++i) {
        const char c = name[i];
        if (c < '0' || c > '9') {
            return false;
        }
        const auto d = static_cast<uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    out = v;
    return true;
}

/// Outcome of reading one frame: either a checksummed payload or the reason
/// the bytes at this offset are not one (which may be a torn write).
struct frame {
    bool ok = false;
    std::string reason;
    std::string_view payload;
};

frame read_frame(std::string_view buf, uint64_t off) {
    frame f;
    const uint64_t left = buf.size() - off;
    if (left < frame_header_size) {
        f.reason = fmt::format("truncated record header ({} of {} bytes)", left, frame_header_size);
        return f;
    }
    const uint64_t len = get_u32(buf, off);
    if (len < entry_payload_fixed || len > max_payload) {
        f.reason = fmt::format("implausible record length {}", len);
        return f;
    }
    if (len > left - frame_header_size) {
        f.reason = fmt::format("record length {} runs past the end of the file ({} bytes left)",
                               len, left - frame_header_size);
        return f;
    }
    const std::string_view payload = buf.substr(off + frame_header_size, len);
    const uint32_t stored = get_u32(buf, off + 4);
    const uint32_t computed = crc32c(payload);
    if (stored != computed) {
        f.reason = fmt::format("record checksum mismatch (stored {:#010x}, computed {:#010x})",
                               stored, computed);
        return f;
    }
    f.ok = true;
    f.payload = payload;
    return f;
}

/// True if some byte offset >= `from` starts a checksummed record of a known
/// type whose index is beyond `last_good`: evidence that the log continued
/// after the damage, so the damage is not a torn tail. Sets `found`.
bool find_later_record(std::string_view buf, uint64_t from, log_index last_good, uint64_t& found) {
    for (uint64_t p = from; p + frame_header_size + entry_payload_fixed <= buf.size(); ++p) {
        const uint64_t len = get_u32(buf, p);
        if (len < entry_payload_fixed || len > max_payload ||
            len > buf.size() - p - frame_header_size) {
            continue;
        }
        const std::string_view payload = buf.substr(p + frame_header_size, len);
        if (crc32c(payload) != get_u32(buf, p + 4)) {
            continue;
        }
        if (!valid_type(static_cast<uint8_t>(payload[16]))) {
            continue;
        }
        if (log_index{get_u64(payload, 8)} > last_good) {
            found = p;
            return true;
        }
    }
    return false;
}

enum class header_check { ok, damaged, corrupt };

header_check check_header(std::string_view buf, log_index name_first, std::string& reason) {
    if (buf.size() < segment_header_size) {
        reason = fmt::format("segment header truncated ({} of {} bytes)", buf.size(),
                             segment_header_size);
        return header_check::damaged;
    }
    const uint32_t stored = get_u32(buf, 20);
    const uint32_t computed = crc32c(buf.substr(0, 20));
    if (stored != computed) {
        reason =
            fmt::format("segment header checksum mismatch (stored {:#010x}, computed {:#010x})",
                        stored, computed);
        return header_check::damaged;
    }
    // From here the header is checksummed, so a mismatch is not a torn write.
    if (get_u32(buf, 0) != segment_magic) {
        reason = fmt::format("bad segment magic {:#010x}", get_u32(buf, 0));
        return header_check::corrupt;
    }
    if (get_u32(buf, 4) != segment_version) {
        reason = fmt::format("unsupported segment version {}", get_u32(buf, 4));
        return header_check::corrupt;
    }
    if (get_u64(buf, 8) != name_first.value()) {
        reason = fmt::format("header says first index {} but the file name says {}",
                             get_u64(buf, 8), name_first);
        return header_check::corrupt;
    }
    return header_check::ok;
}

}  // namespace

std::string encode_segment_header(log_index first) {
    std::string out;
    out.reserve(segment_header_size);
    put_u32(out, segment_magic);
    put_u32(out, segment_version);
    put_u64(out, first.value());
    put_u32(out, 0);
    put_u32(out, crc32c(out));
    return out;
}

uint64_t record_size(const raft::entry& e) {
    return frame_header_size + entry_payload_fixed + e.data.size();
}

void append_record(std::string& out, const raft::entry& e) {
    std::string payload;
    payload.reserve(entry_payload_fixed + e.data.size());
    put_u64(payload, e.term.value());
    put_u64(payload, e.index.value());
    payload.push_back(static_cast<char>(e.type));
    payload += e.data;
    put_u32(out, static_cast<uint32_t>(payload.size()));
    put_u32(out, crc32c(payload));
    out += payload;
}

std::string segment_name(log_index first) {
    return fmt::format("{:020d}.seg", first.value());
}

bool parse_segment_name(std::string_view name, log_index& first) {
    uint64_t v = 0;
    if (!parse_name(name, ".seg", v)) {
        return false;
    }
    first = log_index{v};
    return true;
}

result<segment_scan> scan_segment(std::string_view buf, const std::string& path,
                                  log_index name_first, bool is_last) {
    segment_scan scan;
    if (name_first == log_index{0}) {
        return corrupt_at(path, 0, "segment named for index 0, which no entry has");
    }
    std::string reason;
    switch (check_header(buf, name_first, reason)) {
        case header_check::ok:
            break;
        case header_check::corrupt:
            return corrupt_at(path, 0, reason);
        case header_check::damaged: {
            // A segment's header is synced before any record is written to it,
            // so a damaged header is a torn creation only if nothing follows.
            uint64_t found = 0;
            if (!is_last) {
                return corrupt_at(path, 0, reason + " in a segment that is not the last");
            }
            if (find_later_record(buf, 1, name_first - 1, found)) {
                return corrupt_at(
                    path, 0, fmt::format("{}; a valid record follows at offset {}", reason, found));
            }
            scan.header_torn = true;
            scan.torn = true;
            scan.torn_reason = reason;
            scan.valid_end = 0;
            return scan;
        }
    }

    uint64_t off = segment_header_size;
    log_index expected = name_first;
    term_id last_term{0};
    while (off < buf.size()) {
        frame f = read_frame(buf, off);
        if (!f.ok) {
            uint64_t found = 0;
            if (!is_last) {
                return corrupt_at(path, off, f.reason + " in a segment that is not the last");
            }
            if (find_later_record(buf, off + 1, expected - 1, found)) {
                return corrupt_at(
                    path, off,
                    fmt::format("{}; a valid record follows at offset {}", f.reason, found));
            }
            scan.torn = true;
            scan.torn_reason = fmt::format("{} at offset {}", f.reason, off);
            break;
        }
        // The payload is checksummed: anything wrong from here on was written
        // that way, which no crash explains.
        raft::entry e;
        e.term = term_id{get_u64(f.payload, 0)};
        e.index = log_index{get_u64(f.payload, 8)};
        const auto type = static_cast<uint8_t>(f.payload[16]);
        if (!valid_type(type)) {
            return corrupt_at(path, off, fmt::format("unknown entry type {}", type));
        }
        if (e.index != expected) {
            return corrupt_at(path, off,
                              fmt::format("record has index {}, expected {}", e.index, expected));
        }
        if (e.term < last_term) {
            return corrupt_at(
                path, off,
                fmt::format("entry {} has term {} after term {}", e.index, e.term, last_term));
        }
        e.type = static_cast<raft::entry_type>(type);
        e.data = std::string(f.payload.substr(entry_payload_fixed));
        last_term = e.term;
        ++expected;
        scan.offsets.push_back(off);
        scan.entries.push_back(std::move(e));
        off += frame_header_size + f.payload.size();
    }
    scan.valid_end = off;
    return scan;
}

std::string encode_hard_state(const raft::hard_state& hs) {
    std::string out;
    out.reserve(hard_state_size);
    put_u32(out, hard_state_magic);
    put_u32(out, hard_state_version);
    put_u64(out, hs.term.value());
    put_u64(out, hs.vote.value());
    put_u64(out, hs.commit.value());
    put_u32(out, crc32c(out));
    return out;
}

result<raft::hard_state> decode_hard_state(std::string_view buf, const std::string& path) {
    if (buf.size() != hard_state_size) {
        return corrupt_at(
            path, 0,
            fmt::format("hard state is {} bytes, expected {}", buf.size(), hard_state_size));
    }
    const uint32_t stored = get_u32(buf, 32);
    const uint32_t computed = crc32c(buf.substr(0, 32));
    if (stored != computed) {
        return corrupt_at(path, 32,
                          fmt::format("hard state checksum mismatch (stored {:#010x}, computed "
                                      "{:#010x})",
                                      stored, computed));
    }
    if (get_u32(buf, 0) != hard_state_magic) {
        return corrupt_at(path, 0, fmt::format("bad hard state magic {:#010x}", get_u32(buf, 0)));
    }
    if (get_u32(buf, 4) != hard_state_version) {
        return corrupt_at(path, 4,
                          fmt::format("unsupported hard state version {}", get_u32(buf, 4)));
    }
    raft::hard_state hs;
    hs.term = term_id{get_u64(buf, 8)};
    hs.vote = node_id{get_u64(buf, 16)};
    hs.commit = log_index{get_u64(buf, 24)};
    return hs;
}

std::string encode_u32(uint32_t v) {
    std::string out;
    put_u32(out, v);
    return out;
}

std::string encode_snapshot_header(const raft::snapshot_meta& meta, uint64_t data_size) {
    std::string out;
    put_u32(out, snapshot_magic);
    put_u32(out, snapshot_version);
    put_u64(out, meta.index.value());
    put_u64(out, meta.term.value());
    put_u32(out, static_cast<uint32_t>(meta.conf.voters.size()));
    put_u32(out, static_cast<uint32_t>(meta.conf.learners.size()));
    for (const node_id n : meta.conf.voters) {
        put_u64(out, n.value());
    }
    for (const node_id n : meta.conf.learners) {
        put_u64(out, n.value());
    }
    put_u64(out, data_size);
    return out;
}

result<raft::snapshot> decode_snapshot(std::string_view buf, const std::string& path) {
    constexpr size_t fixed = 4 + 4 + 8 + 8 + 4 + 4;
    constexpr size_t minimum = fixed + 8 + 4;
    if (buf.size() < minimum) {
        return corrupt_at(path, 0,
                          fmt::format("snapshot file is {} bytes, shorter than the minimum {}",
                                      buf.size(), minimum));
    }
    const uint64_t crc_off = buf.size() - 4;
    const uint32_t stored = get_u32(buf, crc_off);
    const uint32_t computed = crc32c(buf.substr(0, crc_off));
    if (stored != computed) {
        return corrupt_at(path, crc_off,
                          fmt::format("snapshot checksum mismatch (stored {:#010x}, computed "
                                      "{:#010x})",
                                      stored, computed));
    }
    if (get_u32(buf, 0) != snapshot_magic) {
        return corrupt_at(path, 0, fmt::format("bad snapshot magic {:#010x}", get_u32(buf, 0)));
    }
    if (get_u32(buf, 4) != snapshot_version) {
        return corrupt_at(path, 4, fmt::format("unsupported snapshot version {}", get_u32(buf, 4)));
    }
    raft::snapshot s;
    s.meta.index = log_index{get_u64(buf, 8)};
    s.meta.term = term_id{get_u64(buf, 16)};
    const uint64_t voters = get_u32(buf, 24);
    const uint64_t learners = get_u32(buf, 28);
    // Checked before use: the ids plus the data length must fit before the crc.
    if ((voters + learners) * 8 + 8 > crc_off - fixed) {
        return corrupt_at(
            path, 24,
            fmt::format("{} voters and {} learners do not fit in the file", voters, learners));
    }
    uint64_t off = fixed;
    for (uint64_t i = 0; i < voters; ++i, off += 8) {
        s.meta.conf.voters.emplace_back(get_u64(buf, off));
    }
    for (uint64_t i = 0; i < learners; ++i, off += 8) {
        s.meta.conf.learners.emplace_back(get_u64(buf, off));
    }
    const uint64_t data_size = get_u64(buf, off);
    off += 8;
    if (data_size != crc_off - off) {
        return corrupt_at(
            path, off - 8,
            fmt::format("data length {} but {} bytes are present", data_size, crc_off - off));
    }
    s.data = std::string(buf.substr(off, data_size));
    return s;
}

std::string snapshot_name(log_index index) {
    return fmt::format("{:020d}.snap", index.value());
}

bool parse_snapshot_name(std::string_view name, log_index& index) {
    uint64_t v = 0;
    if (!parse_name(name, ".snap", v)) {
        return false;
    }
    index = log_index{v};
    return true;
}

}  // namespace fjord::storage::format
