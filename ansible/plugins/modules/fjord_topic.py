#!/usr/bin/python
# -*- coding: utf-8 -*-
# The fjord_topic module: one topic's partitions and topic-level configs
# through `fjord topic` (plan logic: module_utils/fjord_plan.py plan_topic).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: fjord_topic
short_description: Create, update or delete a Fjord topic
version_added: "0.1.0"
description:
  - Makes one topic match I(partitions) and I(config), or deletes it.
  - Only the topic-level configs named in I(config) are compared (inherited cluster
    defaults never count as drift), unless I(purge_config) is set.
  - Fewer partitions or a different replication factor cannot be made in place; the
    module fails naming the difference and changes nothing.
  - Uses C(fjord topic list|describe|create|add-partitions|alter-config|delete --format json).
options:
  name:
    description: The topic's name.
    type: str
    required: true
  state:
    description: Whether the topic exists.
    type: str
    choices: [present, absent]
    default: present
  partitions:
    description:
      - The number of partitions. A larger number than the topic has adds partitions.
        Unset, a new topic gets the cluster's C(default_topic_partitions) and an existing
        one keeps its count.
    type: int
  replication_factor:
    description:
      - The replication factor (odd). Unset, the cluster's C(default_topic_replications) at create.
    type: int
  config:
    description:
      - Topic configs, for example C(retention.ms). Values are compared as the CLI prints them
        (C(true)/C(false) for booleans). A key with a null value is reset to the default.
    type: dict
  purge_config:
    description: Also reset topic-level configs the topic has but I(config) does not name.
    type: bool
    default: false
  wait:
    description: How long each change waits for every live broker to apply it (C(--wait)).
    type: str
    default: 30s
extends_documentation_fragment:
  - fjord.cluster.connection
author:
  - Fjord developers
'''

EXAMPLES = r'''
- name: Orders topic, 6 partitions, one day of retention
  fjord.cluster.fjord_topic:
    name: orders
    partitions: 6
    replication_factor: 3
    config:
      retention.ms: 86400000
      cleanup.policy: delete

- name: Delete a topic, as the superuser
  fjord.cluster.fjord_topic:
    name: scratch
    state: absent
    user: admin
    password: "{{ sasl_superuser_password }}"
'''

RETURN = r'''
action:
  description: What was (or in check mode would be) done.
  returned: always
  type: str
  sample: update
add_partitions:
  description: How many partitions were added.
  returned: always
  type: int
  sample: 2
set_config:
  description: The configs set, key to value.
  returned: always
  type: dict
  sample: {"retention.ms": "86400000"}
reset_config:
  description: The configs reset to their defaults.
  returned: always
  type: list
  elements: str
  sample: ["cleanup.policy"]
topic:
  description: The topic as it is after the run (as it would be, in check mode).
  returned: when state is present
  type: dict
  sample: {"name": "orders", "partitions": 6, "replication_factor": 3, "config": {"retention.ms": "86400000"}}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fjord.cluster.plugins.module_utils.fjord_cli import (
    FjordCli, FjordCliError, connection_argument_spec, diff_result)
from ansible_collections.fjord.cluster.plugins.module_utils.fjord_plan import (
    plan_topic, topic_from_describe)


def current_topic(cli, name):
    """The topic as topic_from_describe() gives it, or None if it does not exist."""
    listed = cli.json(["topic", "list", "--internal"])
    if not any(t.get("name") == name for t in listed or []):
        return None
    described = cli.json(["topic", "describe", name, "--print-all"])
    for doc in described or []:
        if doc.get("summary", {}).get("name") == name:
            return topic_from_describe(doc)
    return None


def check_items(items, argv):
    """Batch verbs print one status per topic; any non-OK one fails the module."""
    for item in items or []:
        status = item.get("status", "OK")
        if status not in ("OK", "EXISTS_UNCHANGED", "NOT_FOUND_IGNORED"):
            raise FjordCliError("%s %s: %s %s" % (argv[0], argv[1], status,
                                                  item.get("message", "")), 1, "", argv)


def apply(cli, name, plan, wait):
    if plan["action"] == "delete":
        args = ["topic", "delete", name, "--if-exists", "--wait", wait]
        check_items(cli.json(args), args)
    elif plan["action"] == "create":
        create = plan["create"]
        args = ["topic", "create", name, "-p", str(create["partitions"]),
                "-r", str(create["replication_factor"]), "--wait", wait]
        for key, value in sorted(create["config"].items()):
            args += ["-c", "%s=%s" % (key, value)]
        check_items(cli.json(args), args)
    elif plan["action"] == "update":
        if plan["add_partitions"]:
            args = ["topic", "add-partitions", name, "-n", str(plan["add_partitions"]),
                    "--wait", wait]
            check_items(cli.json(args), args)
        if plan["set_config"] or plan["reset_config"]:
            args = ["topic", "alter-config", name, "--wait", wait]
            for key, value in sorted(plan["set_config"].items()):
                args += ["--set", "%s=%s" % (key, value)]
            for key in plan["reset_config"]:
                args += ["--delete", key]
            check_items(cli.json(args), args)


def main():
    spec = connection_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        partitions=dict(type="int"),
        replication_factor=dict(type="int"),
        config=dict(type="dict"),
        purge_config=dict(type="bool", default=False),
        wait=dict(type="str", default="30s"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    cli = FjordCli(module)
    p = module.params
    try:
        current = current_topic(cli, p["name"])
    except FjordCliError as e:
        cli.fail(e)
    plan = plan_topic(p["name"], p["state"], current, partitions=p["partitions"],
                      replication_factor=p["replication_factor"], config=p["config"],
                      purge_config=p["purge_config"])
    if plan["errors"]:
        module.fail_json(msg="; ".join(plan["errors"]), **diff_result(module, plan))
    if plan["changed"] and not module.check_mode:
        try:
            apply(cli, p["name"], plan, p["wait"])
        except FjordCliError as e:
            cli.fail(e)
    result = dict(changed=plan["changed"], action=plan["action"],
                  add_partitions=plan["add_partitions"], set_config=plan["set_config"],
                  reset_config=plan["reset_config"])
    if p["state"] == "present":
        result["topic"] = plan["after"]
        if plan["changed"] and not module.check_mode:
            try:
                result["topic"] = current_topic(cli, p["name"]) or plan["after"]
            except FjordCliError as e:
                cli.fail(e)
    result.update(diff_result(module, plan))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
