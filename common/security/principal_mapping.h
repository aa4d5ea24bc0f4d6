#pragma once
// File: common/security/principal_mapping.h
//
// Kafka's `ssl.principal.mapping.rules` (Redpanda's principal_mapping_rules):
// turns a client certificate's subject DN into the user name ACLs see, so
// that "User:alice" can be a certificate identity under mutual TLS. Pure; the
// TLS listeners (the next issue) give it the DN and make "User:<result>".
//
// Syntax: a comma-separated list of rules, tried in order; the first that
// applies decides.
//   DEFAULT                       the DN unchanged
//   RULE:<pattern>/<replacement>/[L|U]
//                                 applies when <pattern> (ECMAScript regex)
//                                 matches the whole DN; the result is
//                                 <replacement> with $1..$9 replaced by the
//                                 groups, lower-cased (L) or upper-cased (U)
// A '/' inside a pattern or replacement is written "\/". A rule list where no
// rule applies to a DN maps nothing: the connection is refused (Kafka throws
// "No rules apply"), never given a made-up identity.
//
// Example: "RULE:^CN=([^,]+),OU=ops.*$/$1/L,DEFAULT" maps
// "CN=Alice,OU=ops,O=Example" to "alice" and any other DN to itself.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace fjord::security {

class principal_mapper {
  public:
    /// Parses `rules` (see above; empty means "DEFAULT"). Errors are
    /// invalid_argument naming the field `principal_mapping_rules` and the
    /// position of the rule at fault.
    static result<principal_mapper> parse(std::string_view rules);

    /// The user name for `dn`, or invalid_argument ("no rule applies to ...")
    /// when none applies or the result is empty.
    result<std::string> map(std::string_view dn) const;

    /// The rules as parsed, one per element ("DEFAULT", "RULE:p/r/L").
    std::vector<std::string> describe() const;

  private:
    struct rule;
    std::vector<std::shared_ptr<const rule>> _rules;
};

}  // namespace fjord::security
