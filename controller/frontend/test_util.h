#pragma once
// File: controller/frontend/test_util.h
//
// For the frontend's tests only: a loop_port that applies each proposal to a
// real controller_state at once, as a single-member Raft loop would once the
// entry commits.

#include <future>
#include <string>

#include "common/cluster/errc.h"
#include "controller/loop/controller_state.h"
#include "controller/loop/loop_port.h"

namespace fjord::frontend {

/// A single-member loop: a proposal applies at the next index at once; a
/// read index is always current.
class instant_loop final : public loop::loop_port {
  public:
    explicit instant_loop(loop::controller_state& s) : _s(s) {}

    void propose(std::string data, clock::time_point, completion<void> done) override {
        raft::entry e;
        e.term = term_id{1};
        e.index = log_index{++_index};
        e.data = std::move(data);
        done(_s.apply(e));
    }
    std::future<result<log_index>> read_index() override {
        return ready(result<log_index>(log_index{_index}));
    }
    std::future<result<void>> propose_conf_change(raft::conf_change) override {
        return ready(result<void>(error_info(cluster::errc::internal, "not in this test")));
    }
    std::future<result<void>> transfer_leadership(node_id) override {
        return ready(result<void>(error_info(cluster::errc::internal, "not in this test")));
    }
    std::future<result<log_index>> take_snapshot() override {
        return ready(result<log_index>(error_info(cluster::errc::internal, "not in this test")));
    }
    std::future<loop::loop_status> status() override { return ready(loop::loop_status{}); }
    node_id leader() const override { return node_id{1}; }
    bool is_leader() const override { return true; }

  private:
    template <typename T>
    static std::future<T> ready(T v) {
        std::promise<T> p;
        p.set_value(std::move(v));
        return p.get_future();
    }

    loop::controller_state& _s;
    uint64_t _index = 0;
};

}  // namespace fjord::frontend
