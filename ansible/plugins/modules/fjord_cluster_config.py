#!/usr/bin/python
# -*- coding: utf-8 -*-
# The fjord_cluster_config module: cluster-wide config keys through
# `fjord cluster config` (plan logic: module_utils/fjord_plan.py plan_cluster_config).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: fjord_cluster_config
short_description: Set Fjord cluster config keys
version_added: "0.1.0"
description:
  - Makes the cluster config keys named in I(config) hold the given values; a null value resets
    a key to its default. Keys not named are left alone.
  - The module reads the current values (C(fjord cluster config list --format json)) and compares
    them itself, so C(changed) is true only when a value differs, and sets only the keys that do
    (C(fjord cluster config set --format json), all in one call).
  - A secret key that is set reads back as C([secret]) and cannot be compared; it is set again only
    with I(update_secrets=true) (and then reported as changed on every run). Values of secret keys
    (and of keys whose names contain C(secret), C(password), C(access_key) or C(token)) are shown
    as C([secret]) in the result and the diff; still put C(no_log) on tasks that set them.
options:
  config:
    description:
      - Key to value (C(fjord cluster config list) names the keys). Booleans become C(true)/C(false),
        lists are joined with commas.
    type: dict
    required: true
  update_secrets:
    description: Set secret keys that are already set (their values cannot be compared).
    type: bool
    default: false
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
- name: Authorization on, three superusers, a week of retention by default
  fjord.cluster.fjord_cluster_config:
    config:
      kafka_enable_authorization: true
      superusers: [admin, ops, broker-1]
      log_retention_ms: 604800000

- name: Back to the default retention
  fjord.cluster.fjord_cluster_config:
    config:
      log_retention_ms: null
'''

RETURN = r'''
set:
  description: The keys set, key to value (would be, in check mode).
  returned: always
  type: dict
  sample: {"log_retention_ms": "604800000"}
reset:
  description: The keys reset to their defaults.
  returned: always
  type: list
  elements: str
  sample: []
unknown_secrets:
  description: Secret keys left alone because their values cannot be compared.
  returned: always
  type: list
  elements: str
  sample: ["cloud_storage_secret_key"]
needs_restart:
  description: Whether a key set needs a restart of the daemons to take effect.
  returned: when changed and not in check mode
  type: bool
  sample: false
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fjord.cluster.plugins.module_utils.fjord_cli import (
    FjordCli, FjordCliError, connection_argument_spec, diff_result)
from ansible_collections.fjord.cluster.plugins.module_utils.fjord_plan import (
    SECRET_PLACEHOLDER, plan_cluster_config)

# `cluster config list --format json` says which keys are secret ("secret":
# true; a set one reads back as [secret]). An older CLI without the field:
# values of keys named like credentials are masked in the result and the diff.
SECRET_NAME_PARTS = ("secret", "password", "access_key", "token")


def looks_secret(key, current_value, entry=None):
    if entry is not None and "secret" in entry:
        return bool(entry["secret"]) or current_value == SECRET_PLACEHOLDER
    return current_value == SECRET_PLACEHOLDER or any(part in key for part in SECRET_NAME_PARTS)


def main():
    spec = connection_argument_spec()
    spec.update(
        config=dict(type="dict", required=True),
        update_secrets=dict(type="bool", default=False, no_log=False),
        wait=dict(type="str", default="30s"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    cli = FjordCli(module)
    p = module.params
    try:
        entries = cli.json(["cluster", "config", "list"]) or []
    except FjordCliError as e:
        cli.fail(e)
    current = dict((e["key"], e) for e in entries)
    plan = plan_cluster_config(p["config"], current, p["update_secrets"])
    if plan["errors"]:
        module.fail_json(msg="; ".join(plan["errors"]))
    result = dict(changed=plan["changed"], set=plan["set"], reset=plan["reset"],
                  unknown_secrets=plan["unknown_secrets"])
    if plan["changed"] and not module.check_mode:
        args = ["cluster", "config", "set", "--wait", p["wait"]]
        args += ["%s=%s" % (k, v) for k, v in sorted(plan["set"].items())]
        args += ["%s=" % k for k in plan["reset"]]
        try:
            out = cli.json(args) or {}
        except FjordCliError as e:
            cli.fail(e)
        if out.get("errors"):
            module.fail_json(msg="; ".join("%s: %s %s" % (e.get("key"), e.get("status"),
                                                          e.get("message", ""))
                                           for e in out["errors"]))
        result["needs_restart"] = bool(out.get("needs_restart"))
    if plan["unknown_secrets"]:
        module.warn("secret keys %s are set and cannot be compared; left alone (update_secrets: "
                    "true sets them)" % ", ".join(plan["unknown_secrets"]))
    # Secret values never go into the diff (or the returned `set`).
    for key in list(plan["after"]):
        if looks_secret(key, plan["before"].get(key), current.get(key)):
            plan["before"][key] = SECRET_PLACEHOLDER if plan["before"][key] else ""
            plan["after"][key] = SECRET_PLACEHOLDER
            if key in result["set"]:
                result["set"][key] = SECRET_PLACEHOLDER
    result.update(diff_result(module, plan))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
