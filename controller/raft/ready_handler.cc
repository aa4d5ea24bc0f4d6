// File: controller/raft/ready_handler.cc
//
// handle_ready: node.h's ready contract, step by step (see ready_handler.h).

#include "controller/raft/ready_handler.h"

#include <utility>

#include <fmt/format.h>

namespace fjord::raft {
namespace {

error_info failed(std::string what, const error_info& e) {
    return {e.code, fmt::format("{}: {}", what, e.message())};
}

}  // namespace

result<void> handle_ready(node& n, ready& rd, const ready_driver& d) {
    // 0. send what may go before our own write is durable (a leader's appends).
    for (message& m : rd.early_messages) {
        d.net.send(std::move(m));
    }

    // 1. persist: one sync covers the snapshot, the entries and the hard state.
    if (rd.snapshot) {
        if (auto r = d.log.install_snapshot(*rd.snapshot); !r) {
            return failed(fmt::format("install snapshot at {}", rd.snapshot->meta.index),
                          r.error());
        }
    }
    if (!rd.entries.empty()) {
        if (auto r = d.log.append(rd.entries); !r) {
            return failed(
                fmt::format("append {} entries at {}", rd.entries.size(), rd.entries.front().index),
                r.error());
        }
    }
    if (rd.hard_state) {
        if (auto r = d.log.set_hard_state(*rd.hard_state); !r) {
            return failed("set hard state", r.error());
        }
    }
    if (rd.must_sync) {
        if (auto r = d.log.sync(); !r) {
            return failed("sync", r.error());
        }
    }
    if (d.persisted) {
        d.persisted(rd.must_sync);
    }

    // 2. send
    for (message& m : rd.messages) {
        d.net.send(std::move(m));
    }

    // 3. apply
    if (d.apply) {
        d.apply(rd);
    }

    // 4. advance
    n.advance(rd);
    return ok();
}

}  // namespace fjord::raft
