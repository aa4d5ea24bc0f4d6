// File: broker/group/group.cc
//
// The group state machine (group.h). Each public call collects the callbacks
// it must run while it updates the state, and runs them at the end, so that
// a callback always sees the group as the call leaves it.

#include "broker/group/group.h"

#include <algorithm>

#include "broker/kafka/errors.h"

namespace fjord::broker {
namespace {

namespace k = kafka_errors;

/// Member ids are "<client id>-<id>" as Kafka makes them; a client id is at
/// most 32767 bytes, so it is cut to keep every id encodable anywhere.
constexpr size_t max_client_id_in_member_id = 1024;

void run(std::vector<std::function<void()>>& cbs) {
    for (auto& cb : cbs) {
        cb();
    }
}

join_result join_error(int16_t error, std::string member_id) {
    join_result r;
    r.error = error;
    r.member_id = std::move(member_id);
    return r;
}

sync_result sync_error(int16_t error) {
    sync_result r;
    r.error = error;
    return r;
}

}  // namespace

std::string_view to_string(group_state s) {
    switch (s) {
        case group_state::empty:
            return "Empty";
        case group_state::preparing_rebalance:
            return "PreparingRebalance";
        case group_state::completing_rebalance:
            return "CompletingRebalance";
        case group_state::stable:
            return "Stable";
        case group_state::dead:
            return "Dead";
    }
    return "Unknown";
}

const std::string& group_member::metadata(const std::string& protocol) const {
    static const std::string none;
    for (const auto& p : protocols) {
        if (p.name == protocol) {
            return p.metadata;
        }
    }
    return none;
}

group::group(std::string id, group_options opts, id_fn new_id)
    : _id(std::move(id)), _opts(opts), _new_id(std::move(new_id)) {}

bool group::idle() const {
    return _state == group_state::empty && _members.empty() && _pending.empty();
}

// ---------------------------------------------------------------- JoinGroup

bool group::supports_protocols(const std::string& type,
                               const std::vector<group_protocol>& protocols) const {
    if (type.empty() || protocols.empty()) {
        return false;
    }
    if (_state == group_state::empty) {
        return true;
    }
    if (_protocol_type != type) {
        return false;
    }
    // Some protocol of the joiner must be supported by every member.
    for (const auto& p : protocols) {
        const bool everyone = std::all_of(_members.begin(), _members.end(), [&](const auto& e) {
            const auto& ps = e.second.protocols;
            return std::any_of(ps.begin(), ps.end(),
                               [&](const group_protocol& q) { return q.name == p.name; });
        });
        if (everyone) {
            return true;
        }
    }
    return false;
}

void group::join(join_request req, int64_t now_ms, join_callback cb) {
    callbacks out;
    if (_state == group_state::dead) {
        cb(join_error(k::coordinator_not_available, req.member_id));
        return;
    }
    if (!supports_protocols(req.protocol_type, req.protocols)) {
        cb(join_error(k::inconsistent_group_protocol, req.member_id));
        return;
    }
    if (req.member_id.empty()) {
        std::string client = req.client_id.substr(0, max_client_id_in_member_id);
        std::string id = client + "-" + _new_id();
        if (req.require_known_member_id) {
            // KIP-394: the member learns its id first; until it joins with
            // it (or its session timeout passes) the rebalance waits for it.
            _pending[id] = now_ms + req.session_timeout_ms;
            cb(join_error(k::member_id_required, id));
            return;
        }
        add_member_and_rebalance(std::move(req), std::move(id), now_ms, std::move(cb), out);
    } else if (_pending.count(req.member_id) != 0) {
        _pending.erase(req.member_id);
        std::string id = req.member_id;
        add_member_and_rebalance(std::move(req), std::move(id), now_ms, std::move(cb), out);
    } else {
        auto it = _members.find(req.member_id);
        if (it == _members.end()) {
            cb(join_error(k::unknown_member_id, req.member_id));
            return;
        }
        group_member& m = it->second;
        switch (_state) {
            case group_state::preparing_rebalance:
                update_member_and_rebalance(m, std::move(req), now_ms, std::move(cb), out);
                break;
            case group_state::completing_rebalance:
                if (m.protocols == req.protocols) {
                    // The member lost the JoinGroup answer (a reconnect):
                    // the current generation's answer again.
                    touch(m, now_ms);
                    cb(current_join_result(m));
                } else {
                    update_member_and_rebalance(m, std::move(req), now_ms, std::move(cb), out);
                }
                break;
            case group_state::stable:
                // The leader rejoining forces a rebalance: that is how it
                // reacts to changes its assignment depends on (new topics,
                // partitions) that no member's metadata shows.
                if (m.id == _leader || m.protocols != req.protocols) {
                    update_member_and_rebalance(m, std::move(req), now_ms, std::move(cb), out);
                } else {
                    touch(m, now_ms);
                    join_result r = current_join_result(m);
                    r.members.clear();
                    cb(std::move(r));
                }
                break;
            case group_state::empty:
            case group_state::dead:
                cb(join_error(k::unknown_member_id, req.member_id));
                break;
        }
    }
    if (_state == group_state::preparing_rebalance) {
        try_complete_join(now_ms, out);
    }
    run(out);
}

void group::add_member_and_rebalance(join_request&& req, std::string id, int64_t now_ms,
                                     join_callback cb, callbacks& out) {
    if (_state == group_state::preparing_rebalance && _generation == 0) {
        _new_member_added = true;  // the initial delay may be extended
    }
    if (_members.empty()) {
        _protocol_type = req.protocol_type;
    }
    if (_leader.empty()) {
        _leader = id;
    }
    group_member m;
    m.id = id;
    m.client_id = std::move(req.client_id);
    m.client_host = std::move(req.client_host);
    m.session_timeout_ms = req.session_timeout_ms;
    m.rebalance_timeout_ms = req.rebalance_timeout_ms;
    m.protocol_type = std::move(req.protocol_type);
    m.protocols = std::move(req.protocols);
    m.is_new = true;
    m.seq = _next_seq++;
    // A new member cannot heartbeat before its JoinGroup is answered; a
    // client that gave up and retried leaves this one behind, so it expires
    // after new_member_join_timeout_ms.
    m.deadline_ms = now_ms + _opts.new_member_join_timeout_ms;
    m.awaiting_join = std::move(cb);
    _members.emplace(id, std::move(m));
    maybe_prepare_rebalance(now_ms, out);
}

void group::update_member_and_rebalance(group_member& m, join_request&& req, int64_t now_ms,
                                        join_callback cb, callbacks& out) {
    m.protocols = std::move(req.protocols);
    m.session_timeout_ms = req.session_timeout_ms;
    m.rebalance_timeout_ms = req.rebalance_timeout_ms;
    m.client_id = std::move(req.client_id);
    m.client_host = std::move(req.client_host);
    if (!m.is_new) {
        touch(m, now_ms);  // a new member keeps its join deadline
    }
    if (m.awaiting_join) {
        // Never drop a reply: the older JoinGroup is answered (the client
        // retries), the newer one waits.
        out.push_back([old = std::move(m.awaiting_join), id = m.id] {
            old(join_error(k::rebalance_in_progress, id));
        });
    }
    m.awaiting_join = std::move(cb);
    maybe_prepare_rebalance(now_ms, out);
}

void group::maybe_prepare_rebalance(int64_t now_ms, callbacks& out) {
    if (_state == group_state::stable || _state == group_state::completing_rebalance ||
        _state == group_state::empty) {
        prepare_rebalance(now_ms, out);
    }
}

int32_t group::rebalance_timeout() const {
    int32_t t = 0;
    for (const auto& [id, m] : _members) {
        t = std::max(t, m.rebalance_timeout_ms);
    }
    return t;
}

void group::prepare_rebalance(int64_t now_ms, callbacks& out) {
    if (_state == group_state::completing_rebalance) {
        reset_assignments(k::rebalance_in_progress, out);
    }
    const int32_t timeout = rebalance_timeout();
    if (_state == group_state::empty) {
        _initial_delay = true;
        _initial_delay_deadline = now_ms + _opts.initial_rebalance_delay_ms;
        _initial_delay_remaining =
            std::max<int64_t>(int64_t{timeout} - _opts.initial_rebalance_delay_ms, 0);
        _new_member_added = false;
    } else {
        _initial_delay = false;
    }
    _join_deadline = now_ms + timeout;
    _state = group_state::preparing_rebalance;
}

void group::try_complete_join(int64_t now_ms, callbacks& out) {
    if (_state != group_state::preparing_rebalance || _initial_delay) {
        return;
    }
    const bool all_joined = std::all_of(_members.begin(), _members.end(), [](const auto& e) {
        return static_cast<bool>(e.second.awaiting_join);
    });
    if (all_joined && _pending.empty()) {
        complete_join(now_ms, out);
    }
}

std::string group::select_protocol() const {
    // Candidates: protocols every member supports. Each member votes for its
    // most preferred candidate; the most votes win (ties: the smallest name).
    std::map<std::string, size_t> supported;
    for (const auto& [id, m] : _members) {
        for (const auto& p : m.protocols) {
            ++supported[p.name];
        }
    }
    std::map<std::string, size_t> votes;
    for (const auto& [id, m] : _members) {
        for (const auto& p : m.protocols) {
            if (supported[p.name] == _members.size()) {
                ++votes[p.name];
                break;
            }
        }
    }
    std::string best;
    size_t most = 0;
    for (const auto& [name, n] : votes) {
        if (n > most) {
            best = name;
            most = n;
        }
    }
    return best;
}

void group::complete_join(int64_t now_ms, callbacks& out) {
    // Members that did not rejoin in time are out.
    std::vector<std::string> gone;
    for (const auto& [id, m] : _members) {
        if (!m.awaiting_join) {
            gone.push_back(id);
        }
    }
    for (const auto& id : gone) {
        remove_member(id);
    }
    ++_generation;
    _initial_delay = false;
    if (_members.empty()) {
        _protocol_name.reset();
        _state = group_state::empty;
        return;
    }
    _protocol_name = select_protocol();
    _state = group_state::completing_rebalance;
    for (auto& [id, m] : _members) {
        join_result r = current_join_result(m);
        out.push_back(
            [cb = std::move(m.awaiting_join), r = std::move(r)]() mutable { cb(std::move(r)); });
        m.awaiting_join = nullptr;
        m.is_new = false;
        touch(m, now_ms);
    }
}

join_result group::current_join_result(const group_member& m) const {
    join_result r;
    r.error = k::none;
    r.generation_id = _generation;
    r.member_id = m.id;
    r.leader_id = _leader;
    r.protocol_type = _protocol_type;
    r.protocol_name = _protocol_name;
    if (m.id == _leader && _protocol_name) {
        // In join order, so the leader sees members as they came.
        std::vector<const group_member*> ordered;
        for (const auto& [id, other] : _members) {
            ordered.push_back(&other);
        }
        std::sort(ordered.begin(), ordered.end(),
                  [](const group_member* a, const group_member* b) { return a->seq < b->seq; });
        for (const group_member* other : ordered) {
            r.members.push_back({other->id, other->metadata(*_protocol_name)});
        }
    }
    return r;
}

void group::touch(group_member& m, int64_t now_ms) const {
    m.deadline_ms = now_ms + m.session_timeout_ms;
}

// ---------------------------------------------------------------- SyncGroup

void group::reset_assignments(int16_t error, callbacks& out) {
    for (auto& [id, m] : _members) {
        m.assignment.clear();
        if (m.awaiting_sync) {
            out.push_back([cb = std::move(m.awaiting_sync), error] { cb(sync_error(error)); });
            m.awaiting_sync = nullptr;
        }
    }
}

void group::sync(sync_request req, int64_t now_ms, sync_callback cb) {
    if (_state == group_state::dead) {
        cb(sync_error(k::coordinator_not_available));
        return;
    }
    auto it = _members.find(req.member_id);
    if (it == _members.end()) {
        cb(sync_error(k::unknown_member_id));
        return;
    }
    if (req.generation_id != _generation) {
        cb(sync_error(k::illegal_generation));
        return;
    }
    if ((req.protocol_type && req.protocol_type != _protocol_type) ||
        (req.protocol_name && req.protocol_name != _protocol_name)) {
        cb(sync_error(k::inconsistent_group_protocol));
        return;
    }
    group_member& m = it->second;
    switch (_state) {
        case group_state::empty:
        case group_state::dead:
            cb(sync_error(k::unknown_member_id));
            return;
        case group_state::preparing_rebalance:
            cb(sync_error(k::rebalance_in_progress));
            return;
        case group_state::stable: {
            touch(m, now_ms);
            sync_result r;
            r.protocol_type = _protocol_type;
            r.protocol_name = _protocol_name;
            r.assignment = m.assignment;
            cb(std::move(r));
            return;
        }
        case group_state::completing_rebalance:
            break;
    }
    callbacks out;
    touch(m, now_ms);
    if (m.awaiting_sync) {
        out.push_back(
            [old = std::move(m.awaiting_sync)] { old(sync_error(k::rebalance_in_progress)); });
    }
    m.awaiting_sync = std::move(cb);
    if (m.id == _leader) {
        // The leader's assignment: members it names that are not in the
        // group are ignored, members it leaves out get nothing (Kafka's).
        std::map<std::string, std::string> given(std::make_move_iterator(req.assignments.begin()),
                                                 std::make_move_iterator(req.assignments.end()));
        for (auto& [id, member] : _members) {
            auto a = given.find(id);
            member.assignment = a == given.end() ? std::string() : std::move(a->second);
            if (member.awaiting_sync) {
                sync_result r;
                r.protocol_type = _protocol_type;
                r.protocol_name = _protocol_name;
                r.assignment = member.assignment;
                out.push_back([cb2 = std::move(member.awaiting_sync), r = std::move(r)]() mutable {
                    cb2(std::move(r));
                });
                member.awaiting_sync = nullptr;
            }
        }
        _state = group_state::stable;
    }
    run(out);
}

// ---------------------------------------------------------------- Heartbeat, leave, commit

int16_t group::heartbeat(const std::string& member_id, int32_t generation_id, int64_t now_ms) {
    if (_state == group_state::dead) {
        return k::coordinator_not_available;
    }
    auto it = _members.find(member_id);
    if (it == _members.end()) {
        return k::unknown_member_id;
    }
    if (generation_id != _generation) {
        return k::illegal_generation;
    }
    touch(it->second, now_ms);
    return _state == group_state::preparing_rebalance ? k::rebalance_in_progress : k::none;
}

int16_t group::leave(const std::string& member_id, int64_t now_ms) {
    if (_state == group_state::dead) {
        return k::coordinator_not_available;
    }
    callbacks out;
    if (_pending.erase(member_id) != 0) {
        try_complete_join(now_ms, out);
    } else if (_members.count(member_id) == 0) {
        return k::unknown_member_id;
    } else {
        remove_member_and_update_group(member_id, now_ms, out);
    }
    run(out);
    return k::none;
}

int16_t group::validate_commit(const std::string& member_id, int32_t generation_id,
                               int64_t now_ms) {
    if (_state == group_state::dead) {
        return k::coordinator_not_available;
    }
    group_member* m = nullptr;
    if (generation_id >= 0 || !member_id.empty()) {
        auto it = _members.find(member_id);
        if (it == _members.end()) {
            return k::unknown_member_id;
        }
        if (generation_id != _generation) {
            return k::illegal_generation;
        }
        m = &it->second;
    } else if (_state != group_state::empty) {
        // Outside group management, offsets of a live group are its
        // members' to commit.
        return k::unknown_member_id;
    }
    switch (_state) {
        case group_state::completing_rebalance:
            // The member has the new generation but not its assignment yet.
            return k::rebalance_in_progress;
        case group_state::stable:
        case group_state::preparing_rebalance:
            // Commits during a rebalance are allowed: the member learns of
            // the rebalance from its next heartbeat.
            if (m != nullptr) {
                touch(*m, now_ms);
            }
            return k::none;
        case group_state::empty:
        case group_state::dead:
            return k::none;
    }
    return k::none;
}

// ---------------------------------------------------------------- removal and time

void group::remove_member(const std::string& id) {
    _members.erase(id);
    if (_leader != id) {
        return;
    }
    // A new leader: the earliest member still waiting to join, else the
    // earliest member.
    const auto rank = [](const group_member& m) {
        return std::pair(!static_cast<bool>(m.awaiting_join), m.seq);
    };
    const group_member* best = nullptr;
    for (const auto& [mid, m] : _members) {
        if (best == nullptr || rank(m) < rank(*best)) {
            best = &m;
        }
    }
    _leader = best == nullptr ? std::string() : best->id;
}

void group::remove_member_and_update_group(const std::string& id, int64_t now_ms, callbacks& out) {
    auto it = _members.find(id);
    if (it == _members.end()) {
        return;
    }
    // A waiting request of the removed member is answered, so the client
    // rejoins if it is still alive.
    if (it->second.awaiting_join) {
        out.push_back([cb = std::move(it->second.awaiting_join), id] {
            cb(join_error(k::unknown_member_id, id));
        });
    }
    if (it->second.awaiting_sync) {
        out.push_back(
            [cb = std::move(it->second.awaiting_sync)] { cb(sync_error(k::unknown_member_id)); });
    }
    remove_member(id);
    switch (_state) {
        case group_state::stable:
        case group_state::completing_rebalance:
            maybe_prepare_rebalance(now_ms, out);
            try_complete_join(now_ms, out);
            break;
        case group_state::preparing_rebalance:
            try_complete_join(now_ms, out);
            break;
        case group_state::empty:
        case group_state::dead:
            break;
    }
}

void group::tick(int64_t now_ms) {
    if (_state == group_state::dead) {
        return;
    }
    callbacks out;
    for (auto it = _pending.begin(); it != _pending.end();) {
        it = it->second <= now_ms ? _pending.erase(it) : std::next(it);
    }
    std::vector<std::string> expired;
    for (auto& [id, m] : _members) {
        if (m.deadline_ms > now_ms) {
            continue;
        }
        if (!m.is_new && (m.awaiting_join || m.awaiting_sync)) {
            // Waiting on the group, not silent: its session restarts.
            touch(m, now_ms);
            continue;
        }
        expired.push_back(id);
    }
    for (const auto& id : expired) {
        remove_member_and_update_group(id, now_ms, out);
    }
    if (_state == group_state::preparing_rebalance) {
        if (_initial_delay) {
            if (now_ms >= _initial_delay_deadline) {
                if (_new_member_added && _initial_delay_remaining > 0 &&
                    _opts.initial_rebalance_delay_ms > 0) {
                    _new_member_added = false;
                    const int64_t delay = std::min<int64_t>(_opts.initial_rebalance_delay_ms,
                                                            _initial_delay_remaining);
                    _initial_delay_deadline = now_ms + delay;
                    _initial_delay_remaining -= delay;
                } else {
                    _initial_delay = false;
                    complete_join(now_ms, out);
                }
            }
        } else if (now_ms >= _join_deadline) {
            complete_join(now_ms, out);
        } else {
            try_complete_join(now_ms, out);  // pending members may have expired
        }
    }
    run(out);
}

void group::unload(int16_t error) {
    callbacks out;
    for (auto& [id, m] : _members) {
        if (m.awaiting_join) {
            out.push_back(
                [cb = std::move(m.awaiting_join), error, mid = id] { cb(join_error(error, mid)); });
            m.awaiting_join = nullptr;
        }
        if (m.awaiting_sync) {
            out.push_back([cb = std::move(m.awaiting_sync), error] { cb(sync_error(error)); });
            m.awaiting_sync = nullptr;
        }
    }
    _state = group_state::dead;
    run(out);
}

}  // namespace fjord::broker
