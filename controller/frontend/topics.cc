// File: controller/frontend/topics.cc
//
// The topics domain of the frontend (topics.h).

#include "controller/frontend/topics.h"

#include <memory>

#include "common/uuid.h"

namespace fjord::frontend {
namespace {

using cluster::errc;

/// What every topics batch refuses as a whole.
result<void> check_batch(const v1::Session& session, int items, const char* list) {
    if (auto r = check_session(session); !r) {
        return r;
    }
    if (items == 0) {
        return error_info::for_field(errc::invalid_argument, list,
                                     "at least one topic is required");
    }
    return ok();
}

/// Runs a batch of `n` items of the request's list `list` (refused as a whole
/// by check_batch) whose answer is the outcomes and the revision after.
void run_simple(core& c, int n, const char* list, bool validate_only, const v1::Session& session,
                const command_meta& meta, core::build_fn build,
                then_fn<result<batch_outcome>> then) {
    if (auto r = check_batch(session, n, list); !r) {
        then(r.error());
        return;
    }
    c.run_batch(static_cast<size_t>(n), validate_only, session, meta, std::move(build),
                [&c, then = std::move(then)](std::vector<result<void>> items) {
                    batch_outcome out;
                    out.items = std::move(items);
                    out.revision = c.revision();
                    then(std::move(out));
                });
}

}  // namespace

void create_topics(core& c, const v1::CreateTopicsRequest& req, const command_meta& meta,
                   then_fn<result<created_topics>> then) {
    if (auto r = check_batch(req.session(), req.topics_size(), "topics"); !r) {
        then(r.error());
        return;
    }
    const size_t n = static_cast<size_t>(req.topics_size());
    // As it would be created (validate_only), or as proposed.
    auto built = std::make_shared<std::vector<std::optional<v1::Topic>>>(n);
    c.run_batch(
        n, req.validate_only(), req.session(), meta,
        [&req, &meta, built](const stm::controller_stm& s, size_t i) {
            auto cmd = stm::make_create_topic(s, req.topics(static_cast<int>(i)), new_uuid(), meta);
            if (cmd) {
                (*built)[i] = cmd->create_topic().topic();
            }
            return cmd;
        },
        [&c, &req, built, then = std::move(then)](std::vector<result<void>> items) {
            created_topics out;
            out.topics = std::move(*built);
            // Report applied topics as the tables hold them (placement and audit).
            c.state().read([&](const stm::controller_stm& s) {
                for (size_t i = 0; i < items.size(); ++i) {
                    if (!items[i]) {
                        out.topics[i].reset();
                    } else if (!req.validate_only()) {
                        if (const auto* applied =
                                s.topics().find(req.topics(static_cast<int>(i)).name())) {
                            out.topics[i] = *applied;
                        }
                    }
                }
                out.revision = s.revision().value();
                return 0;
            });
            out.items = std::move(items);
            then(std::move(out));
        });
}

void delete_topics(core& c, const v1::DeleteTopicsRequest& req, const command_meta& meta,
                   then_fn<result<batch_outcome>> then) {
    run_simple(
        c, req.names_size(), "names", req.validate_only(), req.session(), meta,
        [&req, &meta](const stm::controller_stm& s, size_t i) {
            return stm::make_delete_topic(s, req.names(static_cast<int>(i)), meta);
        },
        std::move(then));
}

void alter_topic_configs(core& c, const v1::AlterTopicConfigsRequest& req, const command_meta& meta,
                         then_fn<result<batch_outcome>> then) {
    run_simple(
        c, req.topics_size(), "topics", req.validate_only(), req.session(), meta,
        [&req, &meta](const stm::controller_stm& s, size_t i) {
            return stm::make_alter_topic_configs(s, req.topics(static_cast<int>(i)), meta);
        },
        std::move(then));
}

void create_partitions(core& c, const v1::CreatePartitionsRequest& req, const command_meta& meta,
                       then_fn<result<batch_outcome>> then) {
    run_simple(
        c, req.topics_size(), "topics", req.validate_only(), req.session(), meta,
        [&req, &meta](const stm::controller_stm& s, size_t i) {
            return stm::make_create_partitions(s, req.topics(static_cast<int>(i)), meta);
        },
        std::move(then));
}

result<v1::ListTopicsResponse> list_topics(core& c, const v1::ListTopicsRequest& req) {
    if (auto r = c.linearize(req.read()); !r) {
        return r.error();
    }
    v1::ListTopicsResponse resp;
    c.state().read([&](const stm::controller_stm& s) {
        if (req.names_size() == 0) {
            for (const auto& [name, t] : s.topics().all()) {
                *resp.add_topics() = t;
            }
        } else {
            for (const auto& name : req.names()) {
                if (const auto* t = s.topics().find(name)) {
                    *resp.add_topics() = *t;
                } else {
                    resp.add_missing(name);
                }
            }
        }
        resp.set_revision(s.revision().value());
        return 0;
    });
    return resp;
}

}  // namespace fjord::frontend
