#include "controller/transport/convert.h"

#include <fmt/format.h>

#include "controller/raft/errc.h"

namespace fjord::transport {
namespace {

namespace pb = fjord::raft::v1;

pb::MessageType to_proto_type(raft::message_type t) {
    switch (t) {
        case raft::message_type::append:
            return pb::MSG_APPEND;
        case raft::message_type::append_response:
            return pb::MSG_APPEND_RESPONSE;
        case raft::message_type::vote:
            return pb::MSG_VOTE;
        case raft::message_type::vote_response:
            return pb::MSG_VOTE_RESPONSE;
        case raft::message_type::pre_vote:
            return pb::MSG_PRE_VOTE;
        case raft::message_type::pre_vote_response:
            return pb::MSG_PRE_VOTE_RESPONSE;
        case raft::message_type::heartbeat:
            return pb::MSG_HEARTBEAT;
        case raft::message_type::heartbeat_response:
            return pb::MSG_HEARTBEAT_RESPONSE;
        case raft::message_type::snapshot:
            return pb::MSG_SNAPSHOT;
        case raft::message_type::snapshot_response:
            return pb::MSG_SNAPSHOT_RESPONSE;
        case raft::message_type::timeout_now:
            return pb::MSG_TIMEOUT_NOW;
        case raft::message_type::read_index:
            return pb::MSG_READ_INDEX;
        case raft::message_type::read_index_response:
            return pb::MSG_READ_INDEX_RESPONSE;
    }
    return pb::MSG_UNKNOWN;
}

result<raft::message_type> from_proto_type(int t) {
    switch (t) {
        case pb::MSG_APPEND:
            return raft::message_type::append;
        case pb::MSG_APPEND_RESPONSE:
            return raft::message_type::append_response;
        case pb::MSG_VOTE:
            return raft::message_type::vote;
        case pb::MSG_VOTE_RESPONSE:
            return raft::message_type::vote_response;
        case pb::MSG_PRE_VOTE:
            return raft::message_type::pre_vote;
        case pb::MSG_PRE_VOTE_RESPONSE:
            return raft::message_type::pre_vote_response;
        case pb::MSG_HEARTBEAT:
            return raft::message_type::heartbeat;
        case pb::MSG_HEARTBEAT_RESPONSE:
            return raft::message_type::heartbeat_response;
        case pb::MSG_SNAPSHOT:
            return raft::message_type::snapshot;
        case pb::MSG_SNAPSHOT_RESPONSE:
            return raft::message_type::snapshot_response;
        case pb::MSG_TIMEOUT_NOW:
            return raft::message_type::timeout_now;
        case pb::MSG_READ_INDEX:
            return raft::message_type::read_index;
        case pb::MSG_READ_INDEX_RESPONSE:
            return raft::message_type::read_index_response;
        default:
            break;
    }
    return {raft::errc::malformed, fmt::format("type: unknown message type {}", t)};
}

void conf_to_proto(const raft::conf_state& c, pb::ConfState& out) {
    for (node_id v : c.voters) {
        out.add_voters(v.value());
    }
    for (node_id l : c.learners) {
        out.add_learners(l.value());
    }
}

}  // namespace

void to_proto(const raft::message& m, pb::Message& out) {
    out.set_type(to_proto_type(m.type));
    out.set_from(m.from.value());
    out.set_to(m.to.value());
    out.set_term(m.term.value());
    out.set_log_term(m.log_term.value());
    out.set_index(m.index.value());
    out.set_commit(m.commit.value());
    out.set_reject(m.reject);
    out.set_reject_hint(m.reject_hint.value());
    out.set_context(m.context);
    out.set_transfer(m.transfer);
    for (const raft::entry& e : m.entries) {
        pb::Entry* pe = out.add_entries();
        pe->set_term(e.term.value());
        pe->set_index(e.index.value());
        pe->set_type(e.type == raft::entry_type::conf_change ? pb::ENTRY_CONF_CHANGE
                                                             : pb::ENTRY_NORMAL);
        pe->set_data(e.data);
    }
    if (m.type == raft::message_type::snapshot) {
        pb::SnapshotMeta* s = out.mutable_snapshot();
        s->set_index(m.snapshot.index.value());
        s->set_term(m.snapshot.term.value());
        conf_to_proto(m.snapshot.conf, *s->mutable_conf());
        out.set_chunk_offset(m.chunk_offset);
        out.set_chunk(m.chunk);
        out.set_chunk_last(m.chunk_last);
    }
}

result<raft::message> from_proto(const pb::Message& p) {
    auto type = from_proto_type(p.type());
    if (!type) {
        return type.error();
    }
    if (p.from() == 0 || p.to() == 0) {
        return {raft::errc::malformed, "from/to: node id 0 is reserved"};
    }
    raft::message m;
    m.type = *type;
    m.from = node_id{p.from()};
    m.to = node_id{p.to()};
    m.term = term_id{p.term()};
    m.log_term = term_id{p.log_term()};
    m.index = log_index{p.index()};
    m.commit = log_index{p.commit()};
    m.reject = p.reject();
    m.reject_hint = log_index{p.reject_hint()};
    m.context = p.context();
    m.transfer = p.transfer();
    m.entries.reserve(static_cast<size_t>(p.entries_size()));
    log_index expect = m.index + 1;
    for (const pb::Entry& pe : p.entries()) {
        if (pe.type() != pb::ENTRY_NORMAL && pe.type() != pb::ENTRY_CONF_CHANGE) {
            return {raft::errc::malformed,
                    fmt::format("entries: unknown entry type {}", static_cast<int>(pe.type()))};
        }
        // The core relies on entries being consecutive after (index, log_term).
        if (log_index{pe.index()} != expect) {
            return {raft::errc::malformed,
                    fmt::format("entries: index {} where {} was expected", pe.index(), expect)};
        }
        ++expect;
        raft::entry e;
        e.term = term_id{pe.term()};
        e.index = log_index{pe.index()};
        e.type = pe.type() == pb::ENTRY_CONF_CHANGE ? raft::entry_type::conf_change
                                                    : raft::entry_type::normal;
        e.data = pe.data();
        m.entries.push_back(std::move(e));
    }
    if (m.type == raft::message_type::snapshot) {
        const pb::SnapshotMeta& s = p.snapshot();
        m.snapshot.index = log_index{s.index()};
        m.snapshot.term = term_id{s.term()};
        for (uint64_t v : s.conf().voters()) {
            m.snapshot.conf.voters.push_back(node_id{v});
        }
        for (uint64_t l : s.conf().learners()) {
            m.snapshot.conf.learners.push_back(node_id{l});
        }
        m.chunk_offset = p.chunk_offset();
        m.chunk = p.chunk();
        m.chunk_last = p.chunk_last();
    }
    return m;
}

}  // namespace fjord::transport
