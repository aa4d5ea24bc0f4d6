#include "controller/raft/types.h"

#include <cstring>

#include "controller/raft/errc.h"

namespace fjord::raft {

// conf_change wire form: [type:1][node:8 little-endian][context:rest].
std::string conf_change::encode() const {
    std::string out;
    out.reserve(9 + context.size());
    out.push_back(static_cast<char>(type));
    const uint64_t n = node.value();
    for (int i = 0; i < 8; ++i) {
        out.push_back(static_cast<char>((n >> (8 * i)) & 0xFFu));
    }
    out += context;
    return out;
}

result<conf_change> conf_change::decode(std::string_view data) {
    if (data.size() < 9) {
        return {errc::malformed,
                "conf_change: need at least 9 bytes, have " + std::to_string(data.size())};
    }
    const auto t = static_cast<uint8_t>(data[0]);
    if (t > static_cast<uint8_t>(conf_change_type::remove_node)) {
        return {errc::malformed, "conf_change: unknown type " + std::to_string(t)};
    }
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) {
        n |= static_cast<uint64_t>(static_cast<uint8_t>(data[1 + i])) << (8 * i);
    }
    if (n == 0) {
        return {errc::malformed, "conf_change: node id 0 is reserved"};
    }
    conf_change cc;
    cc.type = static_cast<conf_change_type>(t);
    cc.node = node_id{n};
    cc.context = std::string(data.substr(9));
    return cc;
}

std::string_view to_string(message_type t) {
    switch (t) {
        case message_type::append:
            return "app";
        case message_type::append_response:
            return "app_resp";
        case message_type::vote:
            return "vote";
        case message_type::vote_response:
            return "vote_resp";
        case message_type::pre_vote:
            return "pre_vote";
        case message_type::pre_vote_response:
            return "pre_vote_resp";
        case message_type::heartbeat:
            return "heartbeat";
        case message_type::heartbeat_response:
            return "heartbeat_resp";
        case message_type::snapshot:
            return "snap";
        case message_type::snapshot_response:
            return "snap_resp";
        case message_type::timeout_now:
            return "timeout_now";
        case message_type::read_index:
            return "read_index";
        case message_type::read_index_response:
            return "read_index_resp";
    }
    return "unknown";
}

std::string_view to_string(role r) {
    switch (r) {
        case role::follower:
            return "follower";
        case role::pre_candidate:
            return "pre_candidate";
        case role::candidate:
            return "candidate";
        case role::leader:
            return "leader";
    }
    return "unknown";
}

namespace {
class category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "raft"; }
    std::string message(int c) const override {
        switch (static_cast<errc>(c)) {
            case errc::success:
                return "success";
            case errc::not_leader:
                return "not the leader";
            case errc::proposal_dropped:
                return "proposal dropped";
            case errc::conf_change_pending:
                return "a membership change is still pending";
            case errc::invalid_conf_change:
                return "invalid membership change";
            case errc::learner_not_caught_up:
                return "learner has not caught up";
            case errc::not_ready:
                return "leader has not committed an entry in its term yet";
            case errc::compacted:
                return "log index compacted";
            case errc::unavailable:
                return "log index unavailable";
            case errc::snapshot_out_of_date:
                return "snapshot out of date";
            case errc::corrupt:
                return "corrupt data";
            case errc::io_error:
                return "I/O error";
            case errc::malformed:
                return "malformed data";
            case errc::unknown_member:
                return "not a member of the group";
            case errc::outcome_unknown:
                return "outcome unknown";
        }
        return "unknown raft error " + std::to_string(c);
    }
};
}  // namespace

const std::error_category& error_category() {
    static const category c;
    return c;
}

}  // namespace fjord::raft
