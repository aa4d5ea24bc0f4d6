#include "controller/raft/raft_log.h"

#include <algorithm>

#include "common/assert.h"

namespace fjord::raft {

raft_log::raft_log(storage& s) : _storage(s) {
    _offset = s.last_index() + 1;
    const log_index snap = s.first_index() - 1;
    _committed = snap;
    _applying = snap;
    _applied = snap;
}

log_index raft_log::first_index() const {
    if (_unstable_snapshot) {
        return _unstable_snapshot->meta.index + 1;
    }
    return _storage.first_index();
}

log_index raft_log::last_index() const {
    if (!_unstable.empty()) {
        return unstable_last();
    }
    if (_unstable_snapshot) {
        return _unstable_snapshot->meta.index;
    }
    return _storage.last_index();
}

log_index raft_log::last_stable_index() const {
    if (_unstable_snapshot) {
        return _storage.last_index();  // a follower restoring; never a leader
    }
    return std::min(_offset - 1, _storage.last_index());
}

term_id raft_log::last_term() const {
    auto t = term(last_index());
    FJORD_ASSERT(t.has_value(), "term of last index {} unknown", last_index());
    return *t;
}

result<term_id> raft_log::term(log_index i) const {
    if (!_unstable.empty() && i >= _offset && i <= unstable_last()) {
        return _unstable[i - _offset].term;
    }
    if (_unstable_snapshot) {
        if (i == _unstable_snapshot->meta.index) {
            return _unstable_snapshot->meta.term;
        }
        if (i < _unstable_snapshot->meta.index) {
            return {errc::compacted, "below unstable snapshot"};
        }
        if (i > last_index()) {
            return {errc::unavailable, "beyond the log"};
        }
    }
    if (i > last_index()) {
        return {errc::unavailable, "beyond the log"};
    }
    if (i == log_index{0}) {
        return term_id{0};
    }
    return _storage.term(i);
}

term_id raft_log::term_or_zero(log_index i) const {
    auto t = term(i);
    return t ? *t : term_id{0};
}

bool raft_log::match_term(log_index i, term_id t) const {
    auto lt = term(i);
    return lt && *lt == t;
}

bool raft_log::is_up_to_date(log_index index, term_id t) const {
    const term_id lt = last_term();
    return t > lt || (t == lt && index >= last_index());
}

std::optional<log_index> raft_log::find_conflict(const std::vector<entry>& ents) const {
    for (const entry& e : ents) {
        if (!match_term(e.index, e.term)) {
            return e.index;
        }
    }
    return std::nullopt;
}

std::optional<log_index> raft_log::maybe_append(log_index prev, term_id prev_term, log_index commit,
                                                std::vector<entry> ents) {
    if (!match_term(prev, prev_term)) {
        return std::nullopt;
    }
    const log_index last_new = prev + ents.size();
    if (auto ci = find_conflict(ents)) {
        FJORD_ASSERT(*ci > _committed, "entry {} conflicts with committed entry (commit {})", *ci,
                     _committed);
        ents.erase(ents.begin(), ents.begin() + static_cast<std::ptrdiff_t>(*ci - (prev + 1)));
        append(std::move(ents));
    }
    commit_to(std::min(commit, last_new));
    return last_new;
}

log_index raft_log::append(std::vector<entry> ents) {
    if (ents.empty()) {
        return last_index();
    }
    const log_index after = ents.front().index - 1;
    FJORD_ASSERT(after >= _committed, "append after {} would truncate committed {}", after,
                 _committed);
    FJORD_ASSERT(after <= last_index(), "append after {} leaves a gap (last {})", after,
                 last_index());
    if (_unstable.empty() || after == unstable_last()) {
        if (_unstable.empty()) {
            _offset = after + 1;
        }
        for (auto& e : ents) {
            _unstable.push_back(std::move(e));
        }
    } else if (after < _offset) {
        // Replaces part of the stable log: the ready loop's storage.append
        // truncates the conflicting stable suffix when it persists these.
        _offset = after + 1;
        _unstable = std::move(ents);
    } else {
        _unstable.resize(after + 1 - _offset);
        for (auto& e : ents) {
            _unstable.push_back(std::move(e));
        }
    }
    return last_index();
}

std::pair<log_index, term_id> raft_log::find_conflict_by_term(log_index index, term_id t) const {
    for (;;) {
        auto lt = term(index);
        if (!lt) {
            return {index, term_id{0}};
        }
        if (*lt <= t || index == log_index{0}) {
            return {index, *lt};
        }
        --index;
    }
}

bool raft_log::maybe_commit(log_index i, term_id t) {
    if (i > _committed && term_or_zero(i) == t) {
        commit_to(i);
        return true;
    }
    return false;
}

void raft_log::commit_to(log_index i) {
    if (i > _committed) {
        FJORD_ASSERT(i <= last_index(), "commit {} beyond last index {}", i, last_index());
        _committed = i;
    }
}

void raft_log::applying_to(log_index i) {
    FJORD_ASSERT(i <= _committed, "applying {} beyond commit {}", i, _committed);
    _applying = std::max(_applying, i);
}

void raft_log::applied_to(log_index i) {
    FJORD_ASSERT(i <= _committed, "applied {} beyond commit {}", i, _committed);
    _applied = std::max(_applied, i);
    _applying = std::max(_applying, i);
}

result<std::vector<entry>> raft_log::slice(log_index lo, log_index hi, uint64_t max_bytes) const {
    if (lo >= hi) {
        return std::vector<entry>{};
    }
    if (lo < first_index()) {
        return {errc::compacted, "slice below first index"};
    }
    FJORD_ASSERT(hi <= last_index() + 1, "slice [{}, {}) beyond last {}", lo, hi, last_index());
    std::vector<entry> out;
    uint64_t bytes = 0;
    if (lo < _offset) {
        auto stable = _storage.entries(lo, std::min(hi, _offset), max_bytes);
        if (!stable) {
            return stable.error();
        }
        out = std::move(*stable);
        for (const auto& e : out) {
            bytes += e.byte_size();
        }
        if (out.empty() || out.back().index + 1 < std::min(hi, _offset) || bytes >= max_bytes) {
            return out;
        }
    }
    for (log_index i = std::max(lo, _offset); i < hi; ++i) {
        const entry& e = _unstable[i - _offset];
        bytes += e.byte_size();
        if (!out.empty() && bytes > max_bytes) {
            break;
        }
        out.push_back(e);
    }
    return out;
}

bool raft_log::has_next_committed_entries() const {
    return _committed > _applying;
}

std::vector<entry> raft_log::next_committed_entries(uint64_t max_bytes) const {
    if (!has_next_committed_entries()) {
        return {};
    }
    auto r = slice(_applying + 1, _committed + 1, max_bytes);
    FJORD_ASSERT(r.has_value(), "committed entries ({}, {}] unavailable: {}", _applying, _committed,
                 r.error().message());
    return std::move(*r);
}

void raft_log::stable_to(log_index i, term_id t) {
    if (_unstable.empty() || i < _offset || i > unstable_last()) {
        return;
    }
    if (_unstable[i - _offset].term != t) {
        return;  // replaced since the ready was taken; the newer entries stay unstable
    }
    _unstable.erase(_unstable.begin(),
                    _unstable.begin() + static_cast<std::ptrdiff_t>(i + 1 - _offset));
    _offset = i + 1;
}

void raft_log::stable_snapshot_to(log_index i) {
    if (_unstable_snapshot && _unstable_snapshot->meta.index == i) {
        _unstable_snapshot.reset();
    }
}

void raft_log::restore(snapshot s) {
    const log_index i = s.meta.index;
    _committed = i;
    _applying = std::max(_applying, i);
    _offset = i + 1;
    _unstable.clear();
    _unstable_snapshot = std::move(s);
}

}  // namespace fjord::raft
