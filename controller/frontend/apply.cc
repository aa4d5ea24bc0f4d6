// File: controller/frontend/apply.cc
//
// Desired state: the plan (plan_apply, pure but for its hooks) and the Apply
// write (apply.h).

#include "controller/frontend/apply.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "common/cluster/config_schema.h"
#include "common/security/acl.h"
#include "common/security/acl_proto.h"
#include "common/security/scram.h"
#include "common/uuid.h"
#include "controller/frontend/security.h"

namespace fjord::frontend {

using cluster::errc;

namespace {

constexpr std::string_view redacted = "(redacted)";

v1::ObjectRef object(v1::ObjectKind kind, std::string name) {
    v1::ObjectRef o;
    o.set_kind(kind);
    o.set_name(std::move(name));
    return o;
}

v1::FieldChange field(std::string name, std::optional<std::string> before,
                      std::optional<std::string> after) {
    v1::FieldChange f;
    f.set_field(std::move(name));
    if (before) {
        f.set_before(std::move(*before));
        f.set_has_before(true);
    }
    if (after) {
        f.set_after(std::move(*after));
        f.set_has_after(true);
    }
    return f;
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        out += (out.empty() ? "" : ",") + s;
    }
    return out;
}

/// Builds the plan: reads `base` (the state at the plan's revision), and
/// applies every command it builds to `scratch` in order, so that each
/// later command is built against the state the earlier ones leave (new
/// topics' placement counts each other; a role exists before its members
/// are set), exactly as the batch will apply.
class planner {
  public:
    planner(const stm::controller_stm& base, const v1::ApplyRequest& req, const command_meta& meta,
            const plan_hooks& hooks)
        : _base(base), _req(req), _meta(meta), _hooks(hooks), _next(base.applied().value() + 1) {}

    result<apply_plan> run() {
        if (auto r = _scratch.restore(_base.snapshot(), _base.applied()); !r) {
            return r.error();
        }
        if (auto r = check_request(); !r) {
            return r.error();
        }
        _plan.plan_revision = _base.revision().value();
        // Config first: defaults it sets apply to the topics created after.
        if (auto r = plan_cluster_config(); !r) {
            return r.error();
        }
        if (auto r = plan_topics(); !r) {
            return r.error();
        }
        if (auto r = plan_users(); !r) {
            return r.error();
        }
        if (auto r = plan_roles(); !r) {
            return r.error();
        }
        if (auto r = plan_acls(); !r) {
            return r.error();
        }
        // Deletions last, bindings before the roles and users they name.
        prune(v1::OBJECT_ACL);
        prune(v1::OBJECT_ROLE);
        prune(v1::OBJECT_USER);
        prune(v1::OBJECT_TOPIC);
        std::sort(_plan.changes.begin(), _plan.changes.end(),
                  [](const planned_change& a, const planned_change& b) {
                      return std::make_pair(a.change.object().kind(), a.change.object().name()) <
                             std::make_pair(b.change.object().kind(), b.change.object().name());
                  });
        _plan.batch.set_owner(_req.owner());
        if (_plan.errors > 0) {
            _plan.batch.clear_commands();
        }
        return std::move(_plan);
    }

  private:
    const v1::DesiredState& desired() const { return _req.desired(); }

    result<void> check_request() {
        if (!_req.owner().empty() && !stm::valid_owner_label(_req.owner())) {
            return error_info::for_field(errc::invalid_argument, "owner",
                                         "1-64 characters of letters, digits, '.', '_' and '-'");
        }
        if (_req.prune() && _req.owner().empty()) {
            return error_info::for_field(errc::invalid_argument, "owner",
                                         "--prune deletes only what an owner created: give one");
        }
        const auto unique = [](const auto& items, std::string_view list) -> result<void> {
            std::set<std::string> seen;
            for (int i = 0; i < items.size(); ++i) {
                const std::string& n = items.Get(i).name();
                const std::string f = fmt::format("desired.{}[{}].name", list, i);
                if (n.empty()) {
                    return error_info::for_field(errc::invalid_argument, f, "must not be empty");
                }
                if (!seen.insert(n).second) {
                    return error_info::for_field(errc::invalid_argument, f,
                                                 fmt::format("\"{}\" is listed twice", n));
                }
            }
            return ok();
        };
        if (auto r = unique(desired().topics(), "topics"); !r) {
            return r;
        }
        if (auto r = unique(desired().users(), "users"); !r) {
            return r;
        }
        if (auto r = unique(desired().roles(), "roles"); !r) {
            return r;
        }
        for (int i = 0; i < desired().users_size(); ++i) {
            if (desired().users(i).password().empty()) {
                return error_info::for_field(errc::invalid_argument,
                                             fmt::format("desired.users[{}].password", i),
                                             "required (from password_env or password_file)");
            }
        }
        return ok();
    }

    /// Builds on the scratch state: the command applies there or its error
    /// is the change's.
    result<void> add(result<v1::ControllerCommand> cmd) {
        if (!cmd) {
            return cmd.error();
        }
        if (cmd->command_case() == v1::ControllerCommand::COMMAND_NOT_SET) {
            return ok();
        }
        if (auto r = _scratch.apply_command(log_index{_next++}, cmd->SerializeAsString()); !r) {
            return r;
        }
        *_plan.batch.add_commands() = std::move(*cmd);
        return ok();
    }
    result<void> add(result<std::optional<v1::ControllerCommand>> cmd) {
        return add(core::nothing_to_do(std::move(cmd)));
    }

    /// Records a change: its precondition (the revision read now), its
    /// error, and ownership when an owned apply creates the object.
    void record(v1::ObjectRef o, v1::ChangeAction action, std::vector<v1::FieldChange> fields,
                result<void> built, bool owns = true) {
        planned_change pc;
        const uint64_t rev = _base.object_revision(o);
        *pc.change.mutable_object() = o;
        pc.change.set_action(action);
        pc.change.set_revision(rev);
        for (auto& f : fields) {
            *pc.change.add_fields() = std::move(f);
        }
        if (!built) {
            pc.error = built.error();
            ++_plan.errors;
        } else {
            auto* p = _plan.batch.add_preconditions();
            *p->mutable_object() = o;
            p->set_revision(rev);
            if (owns && !_req.owner().empty() &&
                (action == v1::CHANGE_CREATE || o.kind() == v1::OBJECT_CLUSTER_CONFIG)) {
                *_plan.batch.add_owned() = o;
            }
        }
        _plan.changes.push_back(std::move(pc));
    }

    /// A precondition on an object the plan reads but does not change.
    void depends_on(const v1::ObjectRef& o) {
        for (const auto& p : _plan.batch.preconditions()) {
            if (p.object().kind() == o.kind() && p.object().name() == o.name()) {
                return;
            }
        }
        auto* p = _plan.batch.add_preconditions();
        *p->mutable_object() = o;
        p->set_revision(_base.object_revision(o));
    }

    bool pruned(const v1::ObjectRef& o, const std::set<std::string>& listed) const {
        return _req.prune() && listed.count(o.name()) == 0;
    }

    // ------------------------------------------------------ cluster config

    result<void> plan_cluster_config() {
        if (!desired().has_cluster_config()) {
            return ok();
        }
        v1::SetClusterConfigRequest all;
        std::vector<std::pair<v1::ObjectRef, std::vector<v1::FieldChange>>> touched;
        const auto show = [](std::string_view key, const std::string& v) {
            const auto* p = cluster::cluster_config_schema().find(key);
            return p != nullptr && p->secret ? std::string(redacted) : v;
        };
        const auto effective = [&](const std::string& key) -> std::string {
            auto e = _base.cluster_config().effective({key});
            return e && !e->empty() ? e->front().value() : std::string();
        };
        std::set<std::string> listed;
        const std::map<std::string, std::string> wanted(desired().cluster_config().begin(),
                                                        desired().cluster_config().end());
        for (const auto& [k, v] : wanted) {
            listed.insert(k);
            const auto o = object(v1::OBJECT_CLUSTER_CONFIG, k);
            v1::SetClusterConfigRequest one;
            if (v.empty()) {
                one.add_remove(k);
            } else {
                (*one.mutable_upsert())[k] = v;
            }
            auto cmd = stm::make_set_cluster_config(_base, one, _meta);
            if (!cmd) {
                record(o, v1::CHANGE_UPDATE, {field("value", show(k, effective(k)), show(k, v))},
                       cmd.error().within("cluster_config."));
                continue;
            }
            const v1::ConfigValue* now = _base.cluster_config().find(k);
            if (v.empty()) {
                if (now == nullptr) {
                    continue;
                }
                all.add_remove(k);
            } else {
                const std::string canonical = cmd->set_cluster_config().upsert().at(k);
                if (now != nullptr && now->value() == canonical) {
                    continue;
                }
                (*all.mutable_upsert())[k] = canonical;
            }
            touched.emplace_back(o, std::vector<v1::FieldChange>{});
        }
        if (_req.prune()) {
            for (const auto& o : _base.owned_by(_req.owner())) {
                if (o.kind() == v1::OBJECT_CLUSTER_CONFIG && pruned(o, listed)) {
                    all.add_remove(o.name());
                    touched.emplace_back(o, std::vector<v1::FieldChange>{});
                }
            }
        }
        if (touched.empty()) {
            return ok();
        }
        // One command for every key, built on the scratch state: the
        // cross-key rules (the admin stays reachable) judge them together.
        auto built = add(stm::make_set_cluster_config(_scratch, all, _meta));
        for (auto& [o, fields] : touched) {
            const std::string& k = o.name();
            const bool reset = all.upsert().count(k) == 0;
            std::string after;
            if (reset) {
                const auto* p = cluster::cluster_config_schema().find(k);
                after = p != nullptr ? fmt::format("{} (default)", show(k, p->default_value))
                                     : "(default)";
            } else {
                after = show(k, all.upsert().at(k));
            }
            const v1::ConfigValue* now = _base.cluster_config().find(k);
            std::string before = show(k, effective(k)) + (now == nullptr ? " (default)" : "");
            fields.push_back(field("value", before, after));
            // A key is owned when this owner set it from its default; a
            // value someone set by hand stays theirs (prune would reset it).
            const bool owns = !reset && (now == nullptr || _base.owner_of(o) == _req.owner());
            record(o,
                   reset && _base.owner_of(o) && listed.count(k) == 0 ? v1::CHANGE_DELETE
                                                                      : v1::CHANGE_UPDATE,
                   std::move(fields), built, owns);
        }
        return ok();
    }

    // ------------------------------------------------------------- topics

    result<void> plan_topics() {
        for (const auto& t : desired().topics()) {
            const auto o = object(v1::OBJECT_TOPIC, t.name());
            std::map<std::string, std::string> configs;
            for (const auto& [k, v] : t.configs()) {
                if (!v.empty()) {
                    configs[k] = v;
                }
            }
            const v1::Topic* now = _base.topics().find(t.name());
            if (now == nullptr) {
                v1::CreateTopicsRequest::Item item;
                item.set_name(t.name());
                item.set_partitions(t.partitions() == 0 ? -1 : t.partitions());
                item.set_replication_factor(t.replication_factor() == 0 ? -1
                                                                        : t.replication_factor());
                item.mutable_configs()->insert(configs.begin(), configs.end());
                // A default the new topic takes is a read of the plan: a
                // concurrent change to it must fail the batch, not be missed.
                if (item.partitions() < 0) {
                    depends_on(object(v1::OBJECT_CLUSTER_CONFIG, "default_topic_partitions"));
                }
                if (item.replication_factor() < 0) {
                    depends_on(object(v1::OBJECT_CLUSTER_CONFIG, "default_topic_replications"));
                }
                auto cmd = stm::make_create_topic(_scratch, item, _hooks.new_uuid(), _meta);
                std::vector<v1::FieldChange> fields;
                if (cmd) {
                    const v1::Topic& nt = cmd->create_topic().topic();
                    fields.push_back(
                        field("partitions", std::nullopt, std::to_string(nt.partitions_size())));
                    fields.push_back(field("replication_factor", std::nullopt,
                                           std::to_string(nt.replication_factor())));
                    for (const auto& [k, v] : std::map<std::string, std::string>(
                             nt.configs().begin(), nt.configs().end())) {
                        fields.push_back(field("configs." + k, std::nullopt, v));
                    }
                }
                record(o, v1::CHANGE_CREATE, std::move(fields), add(std::move(cmd)));
                continue;
            }
            std::vector<v1::FieldChange> fields;
            result<void> built = ok();
            const int32_t have = now->partitions_size();
            if (t.replication_factor() > 0 && t.replication_factor() != now->replication_factor()) {
                fields.push_back(field("replication_factor",
                                       std::to_string(now->replication_factor()),
                                       std::to_string(t.replication_factor())));
                built = error_info::for_field(
                    errc::invalid_replication_factor, "replication_factor",
                    fmt::format("{} cannot change to {} in place (Fjord has no replica moves); "
                                "create a new topic",
                                now->replication_factor(), t.replication_factor()));
            }
            if (t.partitions() > 0 && t.partitions() != have) {
                fields.push_back(
                    field("partitions", std::to_string(have), std::to_string(t.partitions())));
                if (t.partitions() < have && built) {
                    built = error_info::for_field(
                        errc::invalid_partitions, "partitions",
                        fmt::format("{} cannot go down to {}: a topic never loses partitions", have,
                                    t.partitions()));
                }
            }
            // Configs: only explicitly set values compare (a default is never
            // drift); a key set now but not listed goes back to its default.
            const google::protobuf::Map<std::string, std::string> wanted(configs.begin(),
                                                                         configs.end());
            auto canonical =
                stm::validate_topic_configs(wanted, now->replication_factor(), "configs.");
            v1::AlterTopicConfigsRequest::Item alter;
            alter.set_name(t.name());
            if (!canonical) {
                if (built) {
                    built = canonical.error();
                }
            } else {
                const std::map<std::string, std::string> cur(now->configs().begin(),
                                                             now->configs().end());
                for (const auto& [k, v] : *canonical) {
                    auto it = cur.find(k);
                    if (it == cur.end() || it->second != v) {
                        (*alter.mutable_set())[k] = v;
                        fields.push_back(field(
                            "configs." + k,
                            it == cur.end() ? std::nullopt : std::optional<std::string>(it->second),
                            v));
                    }
                }
                for (const auto& [k, v] : cur) {
                    if (canonical->count(k) == 0) {
                        alter.add_remove(k);
                        fields.push_back(field("configs." + k, v, std::nullopt));
                    }
                }
            }
            if (!canonical) {
                const auto& bad = canonical.error().field;  // "configs.<key>"
                const std::string key = bad.substr(std::min(bad.size(), size_t{8}));
                fields.push_back(field(bad,
                                       now->configs().count(key) > 0
                                           ? std::optional<std::string>(now->configs().at(key))
                                           : std::nullopt,
                                       configs.count(key) > 0
                                           ? std::optional<std::string>(configs.at(key))
                                           : std::nullopt));
            }
            if (fields.empty()) {
                continue;
            }
            if (built && t.partitions() > have) {
                v1::CreatePartitionsRequest::Item grow;
                grow.set_name(t.name());
                grow.set_total(t.partitions());
                built = add(stm::make_create_partitions(_scratch, grow, _meta));
            }
            if (built && (alter.set_size() > 0 || alter.remove_size() > 0)) {
                built = add(stm::make_alter_topic_configs(_scratch, alter, _meta));
            }
            record(o, v1::CHANGE_UPDATE, std::move(fields), std::move(built));
        }
        return ok();
    }

    // -------------------------------------------------------------- users

    result<void> plan_users() {
        for (const auto& u : desired().users()) {
            const auto o = object(v1::OBJECT_USER, u.name());
            const std::string mechanism = u.mechanism().empty() ? "SCRAM-SHA-256" : u.mechanism();
            const v1::User* now = _base.users().find(u.name());
            std::vector<v1::FieldChange> fields;
            if (now != nullptr) {
                if (now->credential().mechanism() != mechanism) {
                    fields.push_back(field("mechanism", now->credential().mechanism(), mechanism));
                    fields.push_back(
                        field("password", std::string(redacted), std::string(redacted)));
                } else if (!_hooks.password_matches(now->credential(), u.password())) {
                    fields.push_back(
                        field("password", std::string(redacted), std::string(redacted)));
                }
                if (fields.empty()) {
                    continue;
                }
            } else {
                fields.push_back(field("mechanism", std::nullopt, mechanism));
                fields.push_back(field("password", std::nullopt, std::string(redacted)));
            }
            auto cred = _hooks.derive_credential(u.password(), u.mechanism());
            result<void> built = ok();
            if (!cred) {
                built = cred.error();
            } else {
                v1::User user;
                user.set_name(u.name());
                *user.mutable_credential() = std::move(*cred);
                built = add(
                    stm::make_upsert_user(_scratch, user, now == nullptr, now != nullptr, _meta));
            }
            record(o, now == nullptr ? v1::CHANGE_CREATE : v1::CHANGE_UPDATE, std::move(fields),
                   std::move(built));
        }
        return ok();
    }

    // -------------------------------------------------------------- roles

    result<void> plan_roles() {
        for (const auto& r : desired().roles()) {
            const auto o = object(v1::OBJECT_ROLE, r.name());
            std::set<std::string> want;
            result<void> built = ok();
            for (int i = 0; i < r.members_size(); ++i) {
                auto p = security::parse_role_member(r.members(i));
                if (!p) {
                    built = error_info::for_field(
                        errc::invalid_argument, fmt::format("members[{}]", i), p.error().reason());
                    break;
                }
                want.insert(security::to_string(*p));
            }
            const v1::Role* now = _base.roles().find(r.name());
            const std::set<std::string> have =
                now == nullptr
                    ? std::set<std::string>{}
                    : std::set<std::string>(now->members().begin(), now->members().end());
            if (now != nullptr && built && want == have) {
                continue;
            }
            std::vector<v1::FieldChange> fields;
            fields.push_back(
                field("members",
                      now == nullptr ? std::nullopt
                                     : std::optional<std::string>(join({have.begin(), have.end()})),
                      join({want.begin(), want.end()})));
            if (built && now == nullptr) {
                built = add(stm::make_create_role(_scratch, r.name(), _meta));
            }
            v1::AlterRoleMembersRequest alter;
            alter.set_role(r.name());
            for (const auto& m : want) {
                if (have.count(m) == 0) {
                    alter.add_add(m);
                }
            }
            for (const auto& m : have) {
                if (want.count(m) == 0) {
                    alter.add_remove(m);
                }
            }
            if (built && (alter.add_size() > 0 || alter.remove_size() > 0)) {
                built = add(stm::make_alter_role_members(_scratch, alter, _meta));
            }
            record(o, now == nullptr ? v1::CHANGE_CREATE : v1::CHANGE_UPDATE, std::move(fields),
                   std::move(built));
        }
        return ok();
    }

    // --------------------------------------------------------------- acls

    result<void> plan_acls() {
        for (int i = 0; i < desired().acls_size(); ++i) {
            auto b = security::binding_from_proto(desired().acls(i));
            if (b) {
                if (auto v = security::validate(*b); !v) {
                    b = v.error();
                }
            }
            if (!b) {
                return b.error().within(fmt::format("desired.acls[{}].", i));
            }
            const std::string text = security::to_string(*b);
            if (!_acls_listed.insert(text).second) {
                return error_info::for_field(errc::invalid_argument,
                                             fmt::format("desired.acls[{}]", i),
                                             fmt::format("\"{}\" is listed twice", text));
            }
            if (_base.acls().find(*b) != nullptr) {
                continue;
            }
            v1::AclBinding binding = desired().acls(i);
            binding.clear_created();
            record(object(v1::OBJECT_ACL, text), v1::CHANGE_CREATE, {field("binding", {}, text)},
                   add(stm::make_create_acl(_scratch, binding, _meta)));
        }
        return ok();
    }

    // -------------------------------------------------------------- prune

    std::set<std::string> listed(v1::ObjectKind kind) const {
        std::set<std::string> out;
        switch (kind) {
            case v1::OBJECT_TOPIC:
                for (const auto& t : desired().topics()) {
                    out.insert(t.name());
                }
                break;
            case v1::OBJECT_USER:
                for (const auto& u : desired().users()) {
                    out.insert(u.name());
                }
                break;
            case v1::OBJECT_ROLE:
                for (const auto& r : desired().roles()) {
                    out.insert(r.name());
                }
                break;
            case v1::OBJECT_ACL:
                return _acls_listed;
            default:
                break;
        }
        return out;
    }

    /// With --prune, deletes what this owner created that the file no longer
    /// lists, for every kind the file lists (an absent list is left alone).
    void prune(v1::ObjectKind kind) {
        const bool has = (kind == v1::OBJECT_TOPIC && desired().has_topics()) ||
                         (kind == v1::OBJECT_USER && desired().has_users()) ||
                         (kind == v1::OBJECT_ROLE && desired().has_roles()) ||
                         (kind == v1::OBJECT_ACL && desired().has_acls());
        if (!_req.prune() || !has) {
            return;
        }
        const auto names = listed(kind);
        for (const auto& o : _base.owned_by(_req.owner())) {
            if (o.kind() != kind || names.count(o.name()) > 0) {
                continue;
            }
            result<void> built = ok();
            switch (kind) {
                case v1::OBJECT_TOPIC:
                    built = add(stm::make_delete_topic(_scratch, o.name(), _meta));
                    break;
                case v1::OBJECT_USER:
                    built = add(stm::make_delete_user(_scratch, o.name(), _meta));
                    break;
                case v1::OBJECT_ROLE:
                    built = add(delete_role(o.name()));
                    break;
                case v1::OBJECT_ACL:
                    built = add(delete_exactly(o.name()));
                    break;
                default:
                    continue;
            }
            record(o, v1::CHANGE_DELETE, {}, std::move(built), false);
        }
    }

    /// The DeleteAcls that removes exactly the stored binding whose text is
    /// `text`, every dimension set: an unset one would match everything.
    result<v1::ControllerCommand> delete_exactly(const std::string& text) {
        for (const auto& [key, b] : _scratch.acls().all()) {
            if (security::to_string(key) != text) {
                continue;
            }
            v1::AclFilter f;
            f.set_resource_type(b.resource_type());
            f.set_resource_name(b.resource_name());
            f.set_pattern_type(b.pattern_type());
            f.set_principal(b.principal());
            f.set_host(b.host());
            f.set_operation(b.operation());
            f.set_permission(b.permission());
            return core::nothing_to_do(stm::make_delete_acls(_scratch, f, _meta));
        }
        return error_info(errc::conflict, fmt::format("binding \"{}\" is gone", text));
    }

    /// A role is pruned only when no binding of "Role:<name>" would go with
    /// it that this plan does not delete itself: DeleteRole removes them all,
    /// and someone else's binding must not vanish with a role this owner made.
    result<v1::ControllerCommand> delete_role(const std::string& name) {
        const std::string principal = "Role:" + name;
        for (const auto& [key, b] : _scratch.acls().all()) {
            if (b.principal() == principal) {
                return error_info::for_field(
                    errc::invalid_argument, "acls",
                    fmt::format("role \"{}\" still has binding \"{}\", which this apply "
                                "does not delete (not created by owner \"{}\", or listed in "
                                "the file): remove it first",
                                name, security::to_string(key), _req.owner()));
            }
        }
        return stm::make_delete_role(_scratch, name, _meta);
    }

    const stm::controller_stm& _base;
    const v1::ApplyRequest& _req;
    const command_meta& _meta;
    const plan_hooks& _hooks;
    stm::controller_stm _scratch;
    uint64_t _next;
    apply_plan _plan;
    std::set<std::string> _acls_listed;
};

bool password_matches(const v1::ScramCredential& stored, const std::string& password) {
    auto c = security::credential_from_proto(stored);
    return c && security::verify_password(*c, password);
}

}  // namespace

result<apply_plan> plan_apply(const stm::controller_stm& state, const v1::ApplyRequest& req,
                              const command_meta& meta, const plan_hooks& hooks) {
    return planner(state, req, meta, hooks).run();
}

void apply(core& c, const v1::ApplyRequest& req, const command_meta& meta,
           then_fn<result<apply_outcome>> then) {
    if (auto r = check_session(req.session()); !r) {
        then(r.error());
        return;
    }
    // The plan reads linearizable tables: a deposed leader's stale ones
    // would only make the preconditions fail, but a dry run would lie.
    if (auto r = c.linearize(v1::ReadOptions{}); !r) {
        then(r.error());
        return;
    }
    const auto ses = req.dry_run() ? std::nullopt : command_session(req.session(), 0);
    std::optional<result<void>> prior;
    std::string image;
    log_index at;
    c.state().read([&](const stm::controller_stm& s) {
        if (ses && (prior = s.sessions().prior(*ses))) {
            return 0;  // a retry whose first attempt applied (or was refused)
        }
        // Only the bytes under the lock: the plan (PBKDF2 for passwords,
        // a scratch state) runs on a private copy without blocking apply.
        image = s.snapshot();
        at = s.applied();
        return 0;
    });
    if (prior) {
        apply_outcome out;
        out.applied = prior->has_value();
        out.revision = out.applied ? c.revision() : 0;
        out.outcome = std::move(*prior);
        then(std::move(out));
        return;
    }
    stm::controller_stm base;
    if (auto r = base.restore(image, at); !r) {
        then(r.error());
        return;
    }
    const size_t floor = c.opts().min_password_length;
    plan_hooks hooks{
        .new_uuid = [] { return new_uuid(); },
        .derive_credential =
            [floor](const std::string& password, const std::string& mechanism) {
                return derive_credential(password, mechanism, floor);
            },
        .password_matches = password_matches,
    };
    auto plan = plan_apply(base, req, meta, hooks);
    if (!plan) {
        then(plan.error());
        return;
    }
    apply_outcome out;
    out.plan = std::move(*plan);
    out.outcome = ok();
    if (out.plan.errors > 0) {
        out.outcome = error_info(errc::invalid_argument,
                                 fmt::format("the plan has {} change(s) that cannot be made; "
                                             "nothing was applied",
                                             out.plan.errors));
        auto record =
            req.dry_run() ? std::nullopt : refusal_to_record(req.session(), 0, out.outcome, meta);
        if (!record) {
            then(std::move(out));
            return;
        }
        // A retry's refusal is decided in the log (Session.retry), so an
        // earlier attempt still in flight cannot apply after this "no".
        c.propose_record(std::move(*record), [&c, out = std::move(out),
                                              then = std::move(then)](result<void> r) mutable {
            const auto& refused = out.outcome.error();
            if (r || r.error().code != refused.code || r.error().detail != refused.detail) {
                out.applied = r.has_value();
                out.revision = out.applied ? c.revision() : 0;
                out.outcome = std::move(r);
            }
            then(std::move(out));
        });
        return;
    }
    // Nothing to do is answered without the log, except for a retry
    // (Session.retry): an earlier attempt may still be in flight, so an
    // empty batch is proposed in the session and decides which answer holds.
    if (req.dry_run() || (out.plan.batch.commands_size() == 0 && !(ses && req.session().retry()))) {
        then(std::move(out));
        return;
    }
    v1::ControllerCommand cmd;
    cmd.set_principal(meta.principal);
    cmd.set_time_ms(meta.time_ms);
    *cmd.mutable_apply_batch() = out.plan.batch;
    if (ses) {
        *cmd.mutable_session() = *ses;
    }
    c.propose_one(cmd, [&c, out = std::move(out), then = std::move(then)](result<void> r) mutable {
        out.applied = r.has_value();
        out.revision = out.applied ? c.revision() : 0;
        out.outcome = std::move(r);
        then(std::move(out));
    });
}

}  // namespace fjord::frontend
