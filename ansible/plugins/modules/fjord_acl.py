#!/usr/bin/python
# -*- coding: utf-8 -*-
# The fjord_acl module: the ACL bindings of one principal on one resource,
# through `fjord security acl` (plan logic: module_utils/fjord_plan.py plan_acl).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: fjord_acl
short_description: Grant or revoke Kafka ACLs on a Fjord cluster
version_added: "0.1.0"
description:
  - Makes the bindings "I(principal) is I(permission)ed I(operations) on the resource from
    I(host)" exist (C(state=present)) or not (C(state=absent)). One binding per operation.
  - Present only adds the missing bindings; absent removes exactly the named ones, never
    other operations or principals on the resource.
  - Uses C(fjord security acl list|create|delete --format json).
options:
  principal:
    description:
      - C(User:NAME) (a bare name means a user), C(Role:NAME) for a role, or C(*) for every user.
    type: str
    required: true
  resource_type:
    description: The kind of resource.
    type: str
    required: true
    choices: [topic, group, cluster, transactional_id]
  resource_name:
    description:
      - The resource's name (or prefix with I(pattern_type=prefixed)). Not needed for
        C(cluster), whose name is always C(kafka-cluster).
    type: str
  pattern_type:
    description: Whether I(resource_name) is a literal name or a prefix.
    type: str
    choices: [literal, prefixed]
    default: literal
  operations:
    description: The operations.
    type: list
    elements: str
    required: true
    choices: [all, read, write, create, delete, alter, describe, cluster_action,
              describe_configs, alter_configs, idempotent_write]
  permission:
    description: Allow or deny.
    type: str
    choices: [allow, deny]
    default: allow
  host:
    description: The client host the binding applies to; C(*) for every host.
    type: str
    default: "*"
  state:
    description: Whether the bindings exist.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description: How long a change waits for every live broker to apply it (C(--wait)).
    type: str
    default: 30s
extends_documentation_fragment:
  - fjord.cluster.connection
author:
  - Fjord developers
'''

EXAMPLES = r'''
- name: Alice may read and write the orders topic
  fjord.cluster.fjord_acl:
    principal: alice
    resource_type: topic
    resource_name: orders
    operations: [read, write, describe]

- name: Members of the analysts role read every consumer group starting with analytics-
  fjord.cluster.fjord_acl:
    principal: Role:analysts
    resource_type: group
    resource_name: analytics-
    pattern_type: prefixed
    operations: [read]

- name: Revoke Bob's write access
  fjord.cluster.fjord_acl:
    principal: User:bob
    resource_type: topic
    resource_name: orders
    operations: [write]
    state: absent
'''

RETURN = r'''
created:
  description: The bindings created (would be, in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"principal": "User:alice", "host": "*", "resource_type": "TOPIC", "resource_name": "orders",
            "resource_pattern_type": "LITERAL", "operation": "READ", "permission": "ALLOW"}]
deleted:
  description: The bindings deleted (would be, in check mode).
  returned: always
  type: list
  elements: dict
  sample: []
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fjord.cluster.plugins.module_utils.fjord_cli import (
    FjordCli, FjordCliError, connection_argument_spec, diff_result)
from ansible_collections.fjord.cluster.plugins.module_utils.fjord_plan import (
    ACL_OPERATIONS, acl_bindings, binding_from_json, binding_to_dict, plan_acl)

# resource_type -> the CLI's resource flag.
RESOURCE_FLAGS = {"TOPIC": "--topic", "GROUP": "--group", "CLUSTER": "--cluster",
                  "TRANSACTIONAL_ID": "--transactional-id"}


def principal_flags(principal, permission):
    """--allow-principal/--deny-principal, or the role flags for Role:NAME."""
    verb = "allow" if permission == "ALLOW" else "deny"
    if principal.startswith("Role:"):
        return ["--%s-role" % verb, principal[len("Role:"):]]
    return ["--%s-principal" % verb, principal]


def binding_args(binding, operations):
    principal, host, rtype, name, pattern, _op, permission = binding
    args = principal_flags(principal, permission)
    args += ["--%s-host" % ("allow" if permission == "ALLOW" else "deny"), host]
    if rtype == "CLUSTER":
        args += ["--cluster"]
    else:
        args += [RESOURCE_FLAGS[rtype], name]
    args += ["--resource-pattern-type", pattern.lower(),
             "--operation", ",".join(op.lower() for op in operations)]
    return args


def check_errors(entries, argv):
    for entry in entries or []:
        if entry.get("error"):
            raise FjordCliError("%s: %s" % (" ".join(argv[:3]), entry["error"]), 1, "", argv)


def main():
    spec = connection_argument_spec()
    spec.update(
        principal=dict(type="str", required=True),
        resource_type=dict(type="str", required=True,
                           choices=["topic", "group", "cluster", "transactional_id"]),
        resource_name=dict(type="str"),
        pattern_type=dict(type="str", default="literal", choices=["literal", "prefixed"]),
        operations=dict(type="list", elements="str", required=True, choices=list(ACL_OPERATIONS)),
        permission=dict(type="str", default="allow", choices=["allow", "deny"]),
        host=dict(type="str", default="*"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        wait=dict(type="str", default="30s"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    cli = FjordCli(module)
    p = module.params
    desired, errors = acl_bindings(p["principal"], p["resource_type"], p["resource_name"],
                                   p["pattern_type"], p["operations"], p["permission"], p["host"])
    if errors:
        module.fail_json(msg="; ".join(errors))
    try:
        listed = cli.json(["security", "acl", "list"])
    except FjordCliError as e:
        cli.fail(e)
    current = set(binding_from_json(m) for m in (listed or {}).get("matches", []))
    plan = plan_acl(p["state"], desired, current)
    if plan["changed"] and not module.check_mode:
        try:
            if plan["create"]:
                args = ["security", "acl", "create"] + binding_args(
                    plan["create"][0], [b[5] for b in plan["create"]]) + ["--wait", p["wait"]]
                check_errors(cli.json(args), args)
            for binding in plan["delete"]:
                args = ["security", "acl", "delete", "--no-confirm", "--wait", p["wait"]] + \
                    binding_args(binding, [binding[5]])
                out = cli.json(args) or {}
                check_errors(out.get("filters"), args)
                check_errors(out.get("deletions"), args)
        except FjordCliError as e:
            cli.fail(e)
    result = dict(changed=plan["changed"],
                  created=[binding_to_dict(b) for b in plan["create"]],
                  deleted=[binding_to_dict(b) for b in plan["delete"]])
    result.update(diff_result(module, plan))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
