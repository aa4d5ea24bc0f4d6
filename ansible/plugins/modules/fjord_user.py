#!/usr/bin/python
# -*- coding: utf-8 -*-
# The fjord_user module: one SASL/SCRAM user through `fjord security user`
# (plan logic: module_utils/fjord_plan.py plan_user).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: fjord_user
short_description: Create, update or delete a Fjord SASL/SCRAM user
version_added: "0.1.0"
description:
  - Makes a SCRAM user exist with a password, or deletes it.
  - The cluster stores only salted SCRAM keys derived from the password, never the password
    itself, so an existing user's password cannot be compared with I(user_password). An
    existing user's password is therefore left alone unless I(update_password=true), and then
    it is set on every run (reported as changed every time, since whether it differed cannot
    be known).
  - The password goes to the CLI on standard input, never on its command line, and is never
    logged or returned.
  - Uses C(fjord security user list|create|update|delete --format json).
options:
  name:
    description: The user's name.
    type: str
    required: true
  user_password:
    description:
      - The user's password; required to create the user (and with I(update_password)).
      - Not I(password), which is the connection's credential (the user the module acts as).
    type: str
  mechanism:
    description: The SCRAM mechanism of the stored credential.
    type: str
    choices: [SCRAM-SHA-256, SCRAM-SHA-512]
    default: SCRAM-SHA-256
  update_password:
    description: Set the password of an existing user (always reported as a change).
    type: bool
    default: false
  state:
    description: Whether the user exists.
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
- name: A user for the orders service (created once; its password is not changed afterwards)
  fjord.cluster.fjord_user:
    name: orders-svc
    user_password: "{{ vault_orders_svc_password }}"

- name: Rotate the password
  fjord.cluster.fjord_user:
    name: orders-svc
    user_password: "{{ vault_orders_svc_new_password }}"
    update_password: true

- name: Remove a user
  fjord.cluster.fjord_user:
    name: old-svc
    state: absent
'''

RETURN = r'''
action:
  description: C(create), C(update) (the password), C(delete) or C(none).
  returned: always
  type: str
  sample: create
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fjord.cluster.plugins.module_utils.fjord_cli import (
    FjordCli, FjordCliError, connection_argument_spec, diff_result)
from ansible_collections.fjord.cluster.plugins.module_utils.fjord_plan import plan_user


def main():
    spec = connection_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        user_password=dict(type="str", no_log=True),
        mechanism=dict(type="str", default="SCRAM-SHA-256",
                       choices=["SCRAM-SHA-256", "SCRAM-SHA-512"]),
        update_password=dict(type="bool", default=False, no_log=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        wait=dict(type="str", default="30s"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    cli = FjordCli(module)
    p = module.params
    try:
        users = cli.json(["security", "user", "list"]) or []
    except FjordCliError as e:
        cli.fail(e)
    plan = plan_user(p["name"], p["state"], p["name"] in users, p["user_password"],
                     p["update_password"])
    if plan["errors"]:
        module.fail_json(msg="; ".join(plan["errors"]))
    if plan["changed"] and not module.check_mode:
        mechanism = p["mechanism"].lower()
        try:
            if plan["action"] == "create":
                cli.json(["security", "user", "create", p["name"], "--password", "-",
                          "--mechanism", mechanism, "--wait", p["wait"]],
                         data=p["user_password"])
            elif plan["action"] == "update":
                cli.json(["security", "user", "update", p["name"], "--new-password", "-",
                          "--mechanism", mechanism, "--wait", p["wait"]],
                         data=p["user_password"])
            elif plan["action"] == "delete":
                cli.json(["security", "user", "delete", p["name"], "--wait", p["wait"]])
        except FjordCliError as e:
            cli.fail(e)
    result = dict(changed=plan["changed"], action=plan["action"])
    result.update(diff_result(module, plan))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
