#!/usr/bin/python
# -*- coding: utf-8 -*-
# The fjord_role module: one role and its members through `fjord security role`
# (plan logic: module_utils/fjord_plan.py plan_role).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: fjord_role
short_description: Create or delete a Fjord role and set its members
version_added: "0.1.0"
description:
  - Makes a role exist with exactly I(members) (when given), or deletes it.
  - A role's permissions are ACL bindings naming C(Role:NAME); grant them with
    M(fjord.cluster.fjord_acl). Deleting a role deletes its ACLs and memberships.
  - Uses C(fjord security role list|create|assign|unassign|delete --format json).
options:
  name:
    description: The role's name.
    type: str
    required: true
  members:
    description:
      - The role's members, users (C(alice) or C(User:alice)). When given, the membership is
        made exactly this list (others are unassigned); unset, members are not managed.
    type: list
    elements: str
  state:
    description: Whether the role exists.
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
- name: The analysts role, with two members
  fjord.cluster.fjord_role:
    name: analysts
    members: [alice, User:carol]

- name: Remove the role (and its ACLs)
  fjord.cluster.fjord_role:
    name: interns
    state: absent
'''

RETURN = r'''
action:
  description: C(create), C(update), C(delete) or C(none).
  returned: always
  type: str
  sample: update
assigned:
  description: The members added (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["User:alice"]
unassigned:
  description: The members removed (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: []
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fjord.cluster.plugins.module_utils.fjord_cli import (
    FjordCli, FjordCliError, connection_argument_spec, diff_result)
from ansible_collections.fjord.cluster.plugins.module_utils.fjord_plan import plan_role


def main():
    spec = connection_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        members=dict(type="list", elements="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        wait=dict(type="str", default="30s"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    cli = FjordCli(module)
    p = module.params
    try:
        roles = cli.json(["security", "role", "list"]) or []
    except FjordCliError as e:
        cli.fail(e)
    current = None
    for role in roles:
        if role.get("name") == p["name"]:
            current = role.get("members") or []
    plan = plan_role(p["name"], p["state"], current, p["members"])
    if plan["errors"]:
        module.fail_json(msg="; ".join(plan["errors"]))
    if plan["changed"] and not module.check_mode:
        name = p["name"]
        try:
            if plan["action"] == "delete":
                cli.json(["security", "role", "delete", name, "--no-confirm", "--wait", p["wait"]])
            else:
                if plan["action"] == "create":
                    cli.json(["security", "role", "create", name])
                if plan["assign"]:
                    cli.json(["security", "role", "assign", name, "--principal",
                              ",".join(plan["assign"]), "--wait", p["wait"]])
                if plan["unassign"]:
                    cli.json(["security", "role", "unassign", name, "--principal",
                              ",".join(plan["unassign"]), "--wait", p["wait"]])
        except FjordCliError as e:
            cli.fail(e)
    result = dict(changed=plan["changed"], action=plan["action"], assigned=plan["assign"],
                  unassigned=plan["unassign"])
    result.update(diff_result(module, plan))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
