// File: common/security/authorizer.cc
//
// The indexed authorizer (authorizer.h). Layout of a snapshot:
//
//   principals  pid -> principal      users/roles: name -> pid (name_table)
//   hosts       hid -> host text      "*" is hid 0
//   roles_of    user pid -> sorted role pids (CSR: roles_begin, role_pids)
//   types[rt]   literal  : name_table of literal names, their grants
//               prefixed : name_table of prefixes, their grants, and the
//                          sorted distinct prefix lengths
//   grant       {pid, hid, allowed ops, denied ops}: one per (principal,
//               host) on a pattern, sorted by (pid, hid); bit n of a mask is
//               acl_operation n, so a binding is one bit
//
// Every name table is an immutable open-addressing table keyed by FNV-1a.
// FNV-1a is a left fold over the bytes, so the hash of every prefix of a
// requested name falls out of one pass over it: authorize() hashes the name
// once and probes the prefix table at each length that occurs, then the
// literal table with the full hash.

#include "common/security/authorizer.h"

#include <algorithm>
#include <array>
#include <bit>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace fjord::security {
namespace {

constexpr uint32_t npos = UINT32_MAX;
constexpr uint64_t fnv_offset = 14695981039346656037ULL;
constexpr uint64_t fnv_prime = 1099511628211ULL;

uint64_t fnv_step(uint64_t h, char c) {
    return (h ^ static_cast<unsigned char>(c)) * fnv_prime;
}

uint64_t fnv(std::string_view s) {
    uint64_t h = fnv_offset;
    for (char c : s) {
        h = fnv_step(h, c);
    }
    return h;
}

/// Bit n stands for operation code n; codes outside the enum have none (a
/// request for an unknown operation matches nothing, not even ALL).
constexpr uint16_t bit(acl_operation op) {
    const int v = static_cast<int>(op);
    if (v < static_cast<int>(acl_operation::any) ||
        v > static_cast<int>(acl_operation::idempotent_write)) {
        return 0;
    }
    return static_cast<uint16_t>(1U << static_cast<unsigned>(v));
}

/// The operations whose ALLOW grants `op`: itself, `all`, and for DESCRIBE
/// and DESCRIBE_CONFIGS the operations that imply them (allow only).
constexpr uint16_t allow_mask(acl_operation op) {
    if (bit(op) == 0) {
        return 0;
    }
    uint16_t m = bit(op) | bit(acl_operation::all);
    if (op == acl_operation::describe) {
        m |= bit(acl_operation::read) | bit(acl_operation::write) | bit(acl_operation::remove) |
             bit(acl_operation::alter);
    } else if (op == acl_operation::describe_configs) {
        m |= bit(acl_operation::alter_configs);
    }
    return m;
}

/// The operations whose DENY denies `op`: itself and `all` (no implication).
constexpr uint16_t deny_mask(acl_operation op) {
    return bit(op) == 0 ? 0 : bit(op) | bit(acl_operation::all);
}

/// Index of a concrete resource type in the per-type arrays, or -1.
int type_slot(resource_type rt) {
    const int v = static_cast<int>(rt);
    if (v < static_cast<int>(resource_type::topic) ||
        v > static_cast<int>(resource_type::transactional_id)) {
        return -1;
    }
    return v - static_cast<int>(resource_type::topic);
}
constexpr size_t type_count = 4;

bool bindable(const acl_binding& b) {
    const int op = static_cast<int>(b.op);
    return type_slot(b.rtype) >= 0 &&
           (b.ptype == pattern_type::literal || b.ptype == pattern_type::prefixed) &&
           op >= static_cast<int>(acl_operation::all) &&
           op <= static_cast<int>(acl_operation::idempotent_write) &&
           (b.perm == acl_permission::allow || b.perm == acl_permission::deny);
}

/// The decision classes, in the order they decide (authorizer.h, steps 2-5).
enum cls : size_t { user_deny = 0, role_deny = 1, user_allow = 2, role_allow = 3 };

}  // namespace

// The snapshot's parts, in a named namespace because authorizer::index (a
// class with linkage) holds them.
namespace authorizer_detail {

/// (principal, host) on one pattern: the operations allowed and denied.
struct grant {
    uint32_t pid;
    uint32_t hid;
    uint16_t allow;
    uint16_t deny;
};

/// An immutable string -> dense index table (index = position in `names`).
/// A slot holds the index and the top half of the name's hash, so a probe for
/// an absent name (most prefix probes) reads only the slot array.
class name_table {
  public:
    void assign(std::vector<std::string> names) {
        _names = std::move(names);
        size_t cap = 8;
        while (cap < 2 * _names.size()) {
            cap *= 2;
        }
        _mask = cap - 1;
        _slots.assign(cap, 0);
        for (uint32_t i = 0; i < _names.size(); ++i) {
            const uint64_t h = fnv(_names[i]);
            size_t s = h & _mask;
            while (_slots[s] != 0) {
                s = (s + 1) & _mask;
            }
            _slots[s] = (h & tag_mask) | (uint64_t{i} + 1);
        }
    }

    uint32_t find(std::string_view s) const { return find(s, fnv(s)); }
    /// The index of `s`, whose FNV-1a hash is `h`; npos when absent.
    uint32_t find(std::string_view s, uint64_t h) const {
        if (_names.empty()) {
            return npos;
        }
        for (size_t i = h & _mask;; i = (i + 1) & _mask) {
            const uint64_t v = _slots[i];
            if (v == 0) {
                return npos;
            }
            const auto idx = static_cast<uint32_t>(v & ~tag_mask) - 1;
            if ((v & tag_mask) == (h & tag_mask) && _names[idx] == s) {
                return idx;
            }
        }
    }

    const std::string& name(uint32_t i) const { return _names[i]; }
    size_t size() const { return _names.size(); }

  private:
    static constexpr uint64_t tag_mask = 0xffffffff00000000ULL;
    std::vector<std::string> _names;
    std::vector<uint64_t> _slots;  ///< hash tag (high half) | index + 1; 0 is empty
    size_t _mask = 0;
};

/// Patterns of one kind (literal or prefixed) for one resource type.
struct pattern_set {
    name_table names;
    std::vector<uint32_t> begin;  ///< grants of pattern i: [begin[i], begin[i + 1])
    std::vector<grant> grants;

    std::span<const grant> of(uint32_t i) const {
        return {grants.data() + begin[i], grants.data() + begin[i + 1]};
    }
};

}  // namespace authorizer_detail

using authorizer_detail::grant;
using authorizer_detail::name_table;
using authorizer_detail::pattern_set;

struct authorizer::index {
    std::vector<principal> principals;  ///< by pid
    std::vector<uint8_t> is_role;       ///< by pid
    name_table users;                   ///< user name -> position in user_pid
    std::vector<uint32_t> user_pid;
    name_table roles;  ///< role name -> position in role_pid
    std::vector<uint32_t> role_pid;
    uint32_t wildcard_pid = npos;       ///< User:*
    std::vector<uint32_t> roles_begin;  ///< by pid, size principals + 1
    std::vector<uint32_t> role_pids;
    name_table hosts;  ///< hid; "*" is 0
    name_table superusers;

    struct type_index {
        pattern_set literal;
        uint32_t wildcard = npos;  ///< the literal "*" in `literal`
        pattern_set prefixed;
        std::vector<uint32_t> prefix_lengths;  ///< sorted, distinct
    };
    std::array<type_index, type_count> types;
};

/// One request, resolved to ids.
struct authorizer::query {
    uint32_t self = npos;      ///< the principal's own pid
    uint32_t wildcard = npos;  ///< User:* (users only), npos if it is `self`
    std::span<const uint32_t> roles;
    uint32_t host = npos;  ///< npos when no binding names the client's host
    uint16_t allow = 0;
    uint16_t deny = 0;
};

/// What matched, per decision class: the least matching binding of each.
struct authorizer::verdict {
    struct candidate {
        const std::string* name = nullptr;  ///< nullptr: nothing in this class
        pattern_type ptype = pattern_type::literal;
        uint32_t pid = 0;
        uint32_t hid = 0;
        acl_operation op = acl_operation::any;
    };
    bool superuser = false;
    std::array<candidate, 4> best;
};

authorizer::authorizer() : _index(std::make_unique<index>()) {}
authorizer::~authorizer() = default;

// ---------------------------------------------------------------- builder

struct authorizer_builder::state {
    /// Patterns of one kind for one type, before sorting.
    struct pending {
        std::unordered_map<std::string, uint32_t> ids;
        std::vector<std::string> names;
        std::vector<std::vector<grant>> grants;
    };

    std::unordered_map<std::string, uint32_t> user_ids;
    std::unordered_map<std::string, uint32_t> role_ids;
    std::vector<principal> principals;
    std::unordered_map<std::string, uint32_t> host_ids;
    std::vector<std::string> hosts;
    std::vector<std::string> superusers;
    std::vector<std::pair<uint32_t, uint32_t>> memberships;   ///< (user pid, role pid)
    std::array<std::array<pending, 2>, type_count> patterns;  ///< [type][literal, prefixed]

    state() { host_id(wildcard_host); }

    uint32_t principal_id(const principal& p) {
        auto& ids = p.type == principal::kind::role ? role_ids : user_ids;
        auto [it, fresh] = ids.try_emplace(p.name, static_cast<uint32_t>(principals.size()));
        if (fresh) {
            principals.push_back(p);
        }
        return it->second;
    }

    uint32_t host_id(std::string_view h) {
        auto [it, fresh] =
            host_ids.try_emplace(std::string(h), static_cast<uint32_t>(hosts.size()));
        if (fresh) {
            hosts.emplace_back(h);
        }
        return it->second;
    }
};

authorizer_builder::authorizer_builder() : _s(std::make_unique<state>()) {}
authorizer_builder::~authorizer_builder() = default;
authorizer_builder::authorizer_builder(authorizer_builder&&) noexcept = default;
authorizer_builder& authorizer_builder::operator=(authorizer_builder&&) noexcept = default;

void authorizer_builder::add(const acl_binding& b) {
    if (!bindable(b)) {
        return;
    }
    auto& p = _s->patterns[static_cast<size_t>(type_slot(b.rtype))]
                          [b.ptype == pattern_type::prefixed ? 1 : 0];
    auto [it, fresh] = p.ids.try_emplace(b.name, static_cast<uint32_t>(p.names.size()));
    if (fresh) {
        p.names.push_back(b.name);
        p.grants.emplace_back();
    }
    const bool allow = b.perm == acl_permission::allow;
    p.grants[it->second].push_back(grant{_s->principal_id(b.who), _s->host_id(b.host),
                                         allow ? bit(b.op) : uint16_t{0},
                                         allow ? uint16_t{0} : bit(b.op)});
}

void authorizer_builder::add_superuser(std::string_view user_name) {
    _s->superusers.emplace_back(user_name);
}

void authorizer_builder::add_role_member(std::string_view role, const principal& member) {
    if (member.type != principal::kind::user) {
        return;  // roles do not nest
    }
    const uint32_t user = _s->principal_id(member);
    const uint32_t r = _s->principal_id(principal::role(std::string(role)));
    _s->memberships.emplace_back(user, r);
}

namespace {

/// Sorts and merges `pending` grants (one vector per pattern) into `out`.
size_t finish(std::vector<std::string> names, std::vector<std::vector<grant>> pending,
              pattern_set& out) {
    size_t bindings = 0;
    out.begin.reserve(pending.size() + 1);
    size_t total = 0;
    for (const auto& g : pending) {
        total += g.size();
    }
    out.grants.reserve(total);
    for (auto& g : pending) {
        out.begin.push_back(static_cast<uint32_t>(out.grants.size()));
        std::sort(g.begin(), g.end(), [](const grant& a, const grant& b) {
            return std::pair(a.pid, a.hid) < std::pair(b.pid, b.hid);
        });
        for (const grant& x : g) {
            if (out.grants.size() > out.begin.back() && out.grants.back().pid == x.pid &&
                out.grants.back().hid == x.hid) {
                out.grants.back().allow |= x.allow;
                out.grants.back().deny |= x.deny;
            } else {
                out.grants.push_back(x);
            }
        }
        for (size_t i = out.begin.back(); i < out.grants.size(); ++i) {
            bindings += static_cast<size_t>(std::popcount(out.grants[i].allow)) +
                        static_cast<size_t>(std::popcount(out.grants[i].deny));
        }
        std::vector<grant>().swap(g);  // give the memory back as we go
    }
    out.begin.push_back(static_cast<uint32_t>(out.grants.size()));
    out.grants.shrink_to_fit();
    out.names.assign(std::move(names));
    return bindings;
}

}  // namespace

std::shared_ptr<const authorizer> authorizer_builder::build() && {
    std::shared_ptr<authorizer> a(new authorizer());
    authorizer::index& ix = *a->_index;
    state& s = *_s;

    ix.principals = std::move(s.principals);
    ix.is_role.reserve(ix.principals.size());
    for (const auto& p : ix.principals) {
        ix.is_role.push_back(p.type == principal::kind::role ? 1 : 0);
    }
    for (auto [ids, table, pids] : {std::tuple(&s.user_ids, &ix.users, &ix.user_pid),
                                    std::tuple(&s.role_ids, &ix.roles, &ix.role_pid)}) {
        std::vector<std::string> names;
        names.reserve(ids->size());
        for (auto& [name, pid] : *ids) {
            names.push_back(name);
            pids->push_back(pid);
        }
        table->assign(std::move(names));
    }
    if (const uint32_t w = ix.users.find("*"); w != npos) {
        ix.wildcard_pid = ix.user_pid[w];
    }

    std::sort(s.memberships.begin(), s.memberships.end());
    s.memberships.erase(std::unique(s.memberships.begin(), s.memberships.end()),
                        s.memberships.end());
    ix.roles_begin.assign(ix.principals.size() + 1, 0);
    for (const auto& [user, role] : s.memberships) {
        ++ix.roles_begin[user + 1];
    }
    for (size_t i = 1; i < ix.roles_begin.size(); ++i) {
        ix.roles_begin[i] += ix.roles_begin[i - 1];
    }
    ix.role_pids.reserve(s.memberships.size());
    for (const auto& m : s.memberships) {
        ix.role_pids.push_back(m.second);  // sorted by (user, role): CSR order
    }

    ix.hosts.assign(std::move(s.hosts));
    std::sort(s.superusers.begin(), s.superusers.end());
    s.superusers.erase(std::unique(s.superusers.begin(), s.superusers.end()), s.superusers.end());
    ix.superusers.assign(std::move(s.superusers));

    size_t bindings = 0;
    for (size_t t = 0; t < type_count; ++t) {
        auto& ti = ix.types[t];
        auto& [lit, pre] = s.patterns[t];
        bindings += finish(std::move(lit.names), std::move(lit.grants), ti.literal);
        bindings += finish(std::move(pre.names), std::move(pre.grants), ti.prefixed);
        ti.wildcard = ti.literal.names.find(wildcard_resource_name);
        for (size_t i = 0; i < ti.prefixed.names.size(); ++i) {
            ti.prefix_lengths.push_back(
                static_cast<uint32_t>(ti.prefixed.names.name(static_cast<uint32_t>(i)).size()));
        }
        std::sort(ti.prefix_lengths.begin(), ti.prefix_lengths.end());
        ti.prefix_lengths.erase(std::unique(ti.prefix_lengths.begin(), ti.prefix_lengths.end()),
                                ti.prefix_lengths.end());
    }
    a->_binding_count = bindings;
    _s = std::make_unique<state>();
    return a;
}

std::shared_ptr<const authorizer> authorizer::build(std::span<const acl_binding> bindings,
                                                    std::span<const std::string> superusers,
                                                    const role_memberships& roles) {
    authorizer_builder b;
    for (const auto& x : bindings) {
        b.add(x);
    }
    for (const auto& u : superusers) {
        b.add_superuser(u);
    }
    for (const auto& [role, members] : roles) {
        for (const auto& m : members) {
            b.add_role_member(role, m);
        }
    }
    return std::move(b).build();
}

// ---------------------------------------------------------------- deciding

namespace {

/// The least of two candidates in acl_binding order (same type and
/// permission within a class: name, pattern, principal, host, operation).
template <typename Candidate, typename Principals, typename Hosts>
bool less(const Candidate& a, const Candidate& b, const Principals& principals,
          const Hosts& hosts) {
    if (int c = a.name->compare(*b.name); c != 0) {
        return c < 0;
    }
    if (a.ptype != b.ptype) {
        return a.ptype < b.ptype;
    }
    if (a.pid != b.pid) {
        return principals[a.pid] < principals[b.pid];
    }
    if (a.hid != b.hid) {
        return hosts.name(a.hid) < hosts.name(b.hid);
    }
    return a.op < b.op;
}

const grant* find_grant(std::span<const grant> gs, uint32_t pid, uint32_t hid) {
    auto it = std::lower_bound(gs.begin(), gs.end(), std::pair(pid, hid),
                               [](const grant& g, const std::pair<uint32_t, uint32_t>& k) {
                                   return std::pair(g.pid, g.hid) < k;
                               });
    if (it == gs.end() || it->pid != pid || it->hid != hid) {
        return nullptr;
    }
    return &*it;
}

}  // namespace

authorizer::verdict authorizer::evaluate(const principal& user, std::string_view host,
                                         acl_operation op, resource_type rt, std::string_view name,
                                         bool explain) const {
    const index& ix = *_index;
    verdict v;
    const bool is_user = user.type == principal::kind::user;
    if (is_user && ix.superusers.find(user.name) != npos) {
        v.superuser = true;
        return v;
    }
    const int slot = type_slot(rt);
    if (slot < 0) {
        return v;
    }
    const index::type_index& ti = ix.types[static_cast<size_t>(slot)];

    query q;
    if (is_user) {
        if (const uint32_t u = ix.users.find(user.name); u != npos) {
            q.self = ix.user_pid[u];
            q.roles = {ix.role_pids.data() + ix.roles_begin[q.self],
                       ix.role_pids.data() + ix.roles_begin[q.self + 1]};
        }
        q.wildcard = ix.wildcard_pid == q.self ? npos : ix.wildcard_pid;
    } else if (const uint32_t r = ix.roles.find(user.name); r != npos) {
        q.self = ix.role_pid[r];
    }
    q.host = host == wildcard_host ? npos : ix.hosts.find(host);
    q.allow = allow_mask(op);
    q.deny = deny_mask(op);
    constexpr uint32_t star = 0;

    bool decided = false;  // without explain: a deny was found
    auto offer = [&](size_t c, const std::string* pname, pattern_type ptype, const grant& g,
                     uint16_t bits) {
        verdict::candidate cand{pname, ptype, g.pid, g.hid,
                                static_cast<acl_operation>(std::countr_zero(bits))};
        auto& best = v.best[c];
        if (best.name == nullptr || (explain && less(cand, best, ix.principals, ix.hosts))) {
            best = cand;
        }
        if (!explain && c <= role_deny) {
            decided = true;
        }
    };
    auto take = [&](const std::string* pname, pattern_type ptype, const grant& g) {
        const bool role = ix.is_role[g.pid] != 0;
        if (const uint16_t d = g.deny & q.deny; d != 0) {
            offer(role ? role_deny : user_deny, pname, ptype, g, d);
        }
        if (const uint16_t a = g.allow & q.allow; a != 0) {
            offer(role ? role_allow : user_allow, pname, ptype, g, a);
        }
    };
    auto visit = [&](const pattern_set& ps, uint32_t i, pattern_type ptype) {
        const std::span<const grant> gs = ps.of(i);
        const std::string* pname = &ps.names.name(i);
        const size_t principals = (q.self != npos) + (q.wildcard != npos) + q.roles.size();
        const size_t hosts = q.host == npos ? 1 : 2;
        if (gs.size() <= principals * hosts * 2) {
            // A small pattern: scan it, keeping the grants for our principals and hosts.
            for (const grant& g : gs) {
                if (g.hid != star && g.hid != q.host) {
                    continue;
                }
                if (g.pid == q.self || g.pid == q.wildcard ||
                    std::binary_search(q.roles.begin(), q.roles.end(), g.pid)) {
                    take(pname, ptype, g);
                }
            }
            return;
        }
        auto probe = [&](uint32_t pid) {
            if (const grant* g = find_grant(gs, pid, star)) {
                take(pname, ptype, *g);
            }
            if (q.host != npos) {
                if (const grant* g = find_grant(gs, pid, q.host)) {
                    take(pname, ptype, *g);
                }
            }
        };
        if (q.self != npos) {
            probe(q.self);
        }
        if (q.wildcard != npos) {
            probe(q.wildcard);
        }
        for (uint32_t r : q.roles) {
            probe(r);
        }
    };

    if (q.self == npos && q.wildcard == npos) {
        return v;  // no binding names this principal or every user
    }
    // One pass over the name: probe every prefix length that occurs.
    uint64_t h = fnv_offset;
    size_t next = 0;
    const auto& lengths = ti.prefix_lengths;
    for (size_t i = 0;; ++i) {
        if (next < lengths.size() && lengths[next] == i) {
            ++next;
            if (const uint32_t p = ti.prefixed.names.find(name.substr(0, i), h); p != npos) {
                visit(ti.prefixed, p, pattern_type::prefixed);
                if (decided) {
                    return v;
                }
            }
        }
        if (i == name.size()) {
            break;
        }
        h = fnv_step(h, name[i]);
    }
    if (const uint32_t l = ti.literal.names.find(name, h); l != npos && l != ti.wildcard) {
        visit(ti.literal, l, pattern_type::literal);
        if (decided) {
            return v;
        }
    }
    if (ti.wildcard != npos) {
        visit(ti.literal, ti.wildcard, pattern_type::literal);
    }
    return v;
}

acl_binding authorizer::binding_of(const verdict& v, resource_type rt, size_t c) const {
    const auto& cand = v.best[c];
    return acl_binding{
        .rtype = rt,
        .name = *cand.name,
        .ptype = cand.ptype,
        .who = _index->principals[cand.pid],
        .host = _index->hosts.name(cand.hid),
        .op = cand.op,
        .perm = c <= role_deny ? acl_permission::deny : acl_permission::allow,
    };
}

decision authorizer::authorize(const principal& user, std::string_view host, acl_operation op,
                               resource_type rt, std::string_view name) const {
    const verdict v = evaluate(user, host, op, rt, name, true);
    decision d;
    if (v.superuser) {
        d.allowed = true;
        d.reason = decision_reason::superuser;
        return d;
    }
    for (size_t c : {user_deny, role_deny, user_allow, role_allow}) {
        if (v.best[c].name == nullptr) {
            continue;
        }
        d.allowed = c >= user_allow;
        d.reason =
            d.allowed ? decision_reason::allowed_by_binding : decision_reason::denied_by_binding;
        d.binding = binding_of(v, rt, c);
        if (c == role_deny || c == role_allow) {
            d.via_role = d.binding->who.name;
        }
        return d;
    }
    return d;
}

bool authorizer::allowed(const principal& user, std::string_view host, acl_operation op,
                         resource_type rt, std::string_view name) const {
    const verdict v = evaluate(user, host, op, rt, name, false);
    if (v.superuser) {
        return true;
    }
    if (v.best[user_deny].name != nullptr || v.best[role_deny].name != nullptr) {
        return false;
    }
    return v.best[user_allow].name != nullptr || v.best[role_allow].name != nullptr;
}

bool authorizer::is_superuser(std::string_view user_name) const {
    return _index->superusers.find(user_name) != npos;
}

// ---------------------------------------------------------------- formatting

std::string_view to_string(decision_reason r) {
    switch (r) {
        case decision_reason::superuser:
            return "superuser";
        case decision_reason::allowed_by_binding:
            return "allowed_by_binding";
        case decision_reason::denied_by_binding:
            return "denied_by_binding";
        case decision_reason::no_binding_matched:
            return "no_binding_matched";
    }
    return "unknown";
}

std::string decision::to_string() const {
    switch (reason) {
        case decision_reason::superuser:
            return "allowed by superuser";
        case decision_reason::allowed_by_binding:
        case decision_reason::denied_by_binding: {
            std::string s = fmt::format("{} by {}", allowed ? "allowed" : "denied",
                                        binding ? security::to_string(*binding) : "?");
            if (via_role) {
                s += fmt::format(" (via role {})", *via_role);
            }
            return s;
        }
        case decision_reason::no_binding_matched:
            break;
    }
    return "denied: no binding matched";
}

}  // namespace fjord::security
