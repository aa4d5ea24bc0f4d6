// File: bench/apply_bench.cc
//
// What one `fjord apply` costs the controller as the cluster grows: the
// leader's plan (snapshot bytes under the read lock, then plan_apply on a
// private copy) and, on every member's Raft loop, the ApplyBatch apply,
// whose all-or-nothing trial restores a scratch copy of the whole state
// (controller/stm/apply_batch.cc). Compared, in the same run, with applying
// the same changes as plain commands one by one (the ratio is the price of
// atomicity). JSON lines on stdout; never a pass/fail test.
//
//   apply_bench [--topics 1000,10000,50000] [--changes 10]

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/log.h"
#include "controller/frontend/apply.h"

namespace {

using namespace fjord;
namespace v1 = controller::v1;
using clk = std::chrono::steady_clock;

double ms_since(clk::time_point t) {
    return std::chrono::duration<double, std::milli>(clk::now() - t).count();
}

struct fixture {
    stm::controller_stm stm;
    uint64_t index = 0;

    void commit(const v1::ControllerCommand& c) {
        if (!stm.apply_command(log_index{++index}, c.SerializeAsString())) {
            std::fprintf(stderr, "apply_bench: a set-up command was refused\n");
            std::exit(1);
        }
    }
};

void populate(fixture& f, int topics) {
    for (int b = 1; b <= 3; ++b) {
        v1::ControllerCommand reg;
        reg.mutable_register_broker()->mutable_broker()->set_id(b);
        reg.mutable_register_broker()->mutable_broker()->set_incarnation("i");
        f.commit(reg);
    }
    for (int i = 0; i < topics; ++i) {
        v1::ControllerCommand c;
        v1::Topic* t = c.mutable_create_topic()->mutable_topic();
        t->set_name(fmt::format("topic-{:06}", i));
        t->set_uuid(fmt::format("00000000-0000-4000-8000-{:012}", i));
        t->set_replication_factor(3);
        for (int p = 0; p < 3; ++p) {
            auto* a = t->add_partitions();
            a->set_partition(p);
            for (int r = 0; r < 3; ++r) {
                a->add_replicas((p + r) % 3 + 1);
            }
            a->set_leader(p % 3 + 1);
        }
        (*t->mutable_configs())["retention.ms"] = "86400000";
        f.commit(c);
    }
}

}  // namespace

int main(int argc, char** argv) {
    set_log_level(log_level::off);
    std::vector<int> sizes = {1000, 10000, 50000};
    int changes = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--topics") {
            sizes.clear();
            for (size_t pos = 0; pos <= std::string(argv[i + 1]).size();) {
                const std::string s = argv[i + 1];
                const size_t comma = s.find(',', pos);
                sizes.push_back(std::stoi(s.substr(pos, comma - pos)));
                pos = comma == std::string::npos ? s.size() + 1 : comma + 1;
            }
        } else if (a == "--changes") {
            changes = std::stoi(argv[i + 1]);
        }
    }
    for (int n : sizes) {
        fixture f;
        populate(f, n);
        // The desired state: `changes` existing topics get a new retention.
        v1::ApplyRequest req;
        req.mutable_desired()->set_has_topics(true);
        for (int i = 0; i < changes; ++i) {
            auto* t = req.mutable_desired()->add_topics();
            t->set_name(fmt::format("topic-{:06}", i * (n / changes)));
            t->set_partitions(3);
            t->set_replication_factor(3);
            (*t->mutable_configs())["retention.ms"] = "3600000";
        }
        frontend::plan_hooks hooks{.new_uuid = [] { return std::string(); },
                                   .derive_credential = {},
                                   .password_matches = {}};
        const auto t0 = clk::now();
        const std::string image = f.stm.snapshot();
        const double snapshot_ms = ms_since(t0);
        const auto t1 = clk::now();
        stm::controller_stm base;
        (void)base.restore(image, f.stm.applied());
        auto plan = frontend::plan_apply(base, req, {.principal = "bench", .time_ms = 1}, hooks);
        const double plan_ms = ms_since(t1);
        if (!plan || plan->batch.commands_size() != changes) {
            std::fprintf(stderr, "apply_bench: unexpected plan\n");
            return 1;
        }
        // The same changes, one plain command each, on a copy.
        fixture plain;
        (void)plain.stm.restore(image, f.stm.applied());
        plain.index = f.index;
        const auto t2 = clk::now();
        for (const auto& c : plan->batch.commands()) {
            plain.commit(c);
        }
        const double plain_ms = ms_since(t2);
        v1::ControllerCommand batch;
        *batch.mutable_apply_batch() = plan->batch;
        const auto t3 = clk::now();
        f.commit(batch);
        const double batch_ms = ms_since(t3);
        fmt::print(
            "{{\"topics\": {}, \"changes\": {}, \"snapshot_ms\": {:.2f}, \"plan_ms\": {:.2f}, "
            "\"batch_apply_ms\": {:.2f}, \"plain_apply_ms\": {:.3f}}}\n",
            n, changes, snapshot_ms, plan_ms, batch_ms, plain_ms);
    }
    return 0;
}
