#include "controller/raft/memory_storage.h"

#include <fmt/format.h>

namespace fjord::raft {

result<std::vector<entry>> memory_storage::entries(log_index lo, log_index hi,
                                                   uint64_t max_bytes) const {
    if (lo < first_index()) {
        return {errc::compacted,
                fmt::format("entries from {} below first index {}", lo, first_index())};
    }
    if (hi > last_index() + 1) {
        return {errc::unavailable,
                fmt::format("entries up to {} beyond last index {}", hi, last_index())};
    }
    std::vector<entry> out;
    uint64_t bytes = 0;
    for (log_index i = lo; i < hi; ++i) {
        const entry& e = at(i);
        bytes += e.byte_size();
        if (!out.empty() && bytes > max_bytes) {
            break;
        }
        out.push_back(e);
    }
    return out;
}

result<term_id> memory_storage::term(log_index i) const {
    if (i == _snapshot.meta.index) {
        return _snapshot.meta.term;
    }
    if (i < first_index()) {
        return {errc::compacted, fmt::format("term of {} below first index {}", i, first_index())};
    }
    if (i > last_index()) {
        return {errc::unavailable, fmt::format("term of {} beyond last index {}", i, last_index())};
    }
    return at(i).term;
}

result<void> memory_storage::append(std::span<const entry> entries) {
    if (entries.empty()) {
        return ok();
    }
    const log_index first = entries.front().index;
    if (first <= _snapshot.meta.index) {
        return {errc::compacted,
                fmt::format("append at {} at or below snapshot {}", first, _snapshot.meta.index)};
    }
    if (first > last_index() + 1) {
        return {errc::unavailable,
                fmt::format("append at {} leaves a gap after {}", first, last_index())};
    }
    _entries.resize(first - first_index());
    _entries.insert(_entries.end(), entries.begin(), entries.end());
    return ok();
}

result<void> memory_storage::set_hard_state(const hard_state& hs) {
    _hard_state = hs;
    return ok();
}

result<void> memory_storage::install_snapshot(const raft::snapshot& s) {
    if (s.meta.index <= _snapshot.meta.index) {
        return {errc::snapshot_out_of_date,
                fmt::format("snapshot {} not newer than {}", s.meta.index, _snapshot.meta.index)};
    }
    _snapshot = s;
    _entries.clear();
    return ok();
}

result<void> memory_storage::create_snapshot(log_index i, const conf_state& conf,
                                             std::string data) {
    if (i <= _snapshot.meta.index) {
        return {errc::snapshot_out_of_date,
                fmt::format("snapshot {} not newer than {}", i, _snapshot.meta.index)};
    }
    if (i > last_index()) {
        return {errc::unavailable,
                fmt::format("snapshot {} beyond last index {}", i, last_index())};
    }
    const term_id t = at(i).term;
    _entries.erase(_entries.begin(),
                   _entries.begin() + static_cast<std::ptrdiff_t>(i - first_index() + 1));
    _snapshot.meta = snapshot_meta{i, t, conf};
    _snapshot.data = std::move(data);
    return ok();
}

}  // namespace fjord::raft
