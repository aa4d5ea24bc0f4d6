#!/usr/bin/python
# -*- coding: utf-8 -*-
# The fjord_shadow_link module: one shadow link through `fjord shadow`
# (plan logic: module_utils/fjord_plan.py plan_shadow_link).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: fjord_shadow_link
short_description: Create, update or delete a Fjord shadow link
version_added: "0.1.0"
description:
  - Makes a shadow link (run against the shadow cluster) exist with the given config, or deletes it.
  - The config is the link's YAML config file as a dict (C(fjord shadow config generate
    --print-template) shows every field). Only the fields given are compared; fields at their
    defaults (0, empty) match fields the cluster does not print.
  - The source password cannot be read back (C(shadow describe) prints only C(password_set)), so
    an existing link's password is kept unless I(update_password=true). Give it in
    I(source_password), which is never logged; a password inside I(config) is refused.
  - Creating a link connects to the source, which must be reachable from this cluster's brokers.
  - Uses C(fjord shadow list|describe|create|update|delete --format json).
options:
  name:
    description: The link's name.
    type: str
    required: true
  config:
    description:
      - The link's config (the config file's fields); its C(name) may be left out.
      - Required with C(state=present) unless I(config_file) is given.
    type: dict
  config_file:
    description: A YAML config file on the managed host, instead of I(config).
    type: path
  source_password:
    description:
      - The SASL password for the source, placed in the config's
        C(client_options.authentication_configuration) SCRAM (or PLAIN) section.
    type: str
  update_password:
    description: Send I(source_password) to an existing link (always reported as a change).
    type: bool
    default: false
  force:
    description: With C(state=absent), delete even while shadow topics are active (they fail over).
    type: bool
    default: false
  state:
    description: Whether the link exists.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - fjord.cluster.connection
author:
  - Fjord developers
'''

EXAMPLES = r'''
- name: Shadow every topic starting with orders- from the primary cluster
  fjord.cluster.fjord_shadow_link:
    name: from-primary
    profile: dr
    config:
      client_options:
        bootstrap_servers: [primary-1:9092, primary-2:9092]
        authentication_configuration:
          scram_configuration:
            username: shadow
            scram_mechanism: SCRAM-SHA-256
      topic_metadata_sync_options:
        auto_create_shadow_topic_filters:
          - {pattern_type: PREFIX, filter_type: INCLUDE, name: orders-}
    source_password: "{{ vault_shadow_password }}"
'''

RETURN = r'''
action:
  description: C(create), C(update), C(delete) or C(none).
  returned: always
  type: str
  sample: update
differences:
  description: The config fields that differ (dotted paths).
  returned: always
  type: list
  elements: str
  sample: ["topic_metadata_sync_options.paused"]
'''

import json
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.fjord.cluster.plugins.module_utils.fjord_cli import (
    FjordCli, FjordCliError, connection_argument_spec, diff_result)
from ansible_collections.fjord.cluster.plugins.module_utils.fjord_plan import (
    SHADOW_SECRET_FIELDS, plan_shadow_link)

try:
    import yaml
    HAS_YAML = True
    YAML_IMPORT_ERROR = None
except ImportError:
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()


def inline_secrets(config, path=""):
    """Dotted paths of secrets written into the config itself."""
    found = []
    if isinstance(config, dict):
        for key, value in config.items():
            sub = "%s.%s" % (path, key) if path else key
            if key in SHADOW_SECRET_FIELDS and isinstance(value, str) and value:
                found.append(sub)
            else:
                found.extend(inline_secrets(value, sub))
    elif isinstance(config, list):
        for i, value in enumerate(config):
            found.extend(inline_secrets(value, "%s[%d]" % (path, i)))
    return found


def with_password(config, password):
    """config with password in its SCRAM or PLAIN section; error text or None."""
    auth = (config.get("client_options") or {}).get("authentication_configuration") or {}
    sections = [s for s in ("scram_configuration", "plain_configuration") if s in auth]
    if len(sections) != 1:
        return "source_password: config.client_options.authentication_configuration needs " \
               "exactly one of scram_configuration or plain_configuration"
    auth[sections[0]]["password"] = password
    return None


def main():
    spec = connection_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        config=dict(type="dict"),
        config_file=dict(type="path"),
        source_password=dict(type="str", no_log=True),
        update_password=dict(type="bool", default=False, no_log=False),
        force=dict(type="bool", default=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           mutually_exclusive=[("config", "config_file")],
                           required_if=[("state", "present", ("config", "config_file"), True)])
    p = module.params
    desired = p["config"]
    if p["config_file"]:
        if not HAS_YAML:
            module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
        try:
            with open(p["config_file"]) as f:
                desired = yaml.safe_load(f)
        except (IOError, OSError, yaml.YAMLError) as e:
            module.fail_json(msg="config_file: %s: %s" % (p["config_file"], e))
        if not isinstance(desired, dict):
            module.fail_json(msg="config_file: %s is not a YAML mapping" % p["config_file"])
    if desired is not None:
        secrets = inline_secrets(desired)
        if secrets:
            module.fail_json(msg="config: %s: give the source password in source_password (and "
                                 "TLS keys as files, tls_file_settings), not in the config"
                                 % ", ".join(secrets))
        if p["source_password"]:
            err = with_password(desired, p["source_password"])
            if err:
                module.fail_json(msg=err)
    cli = FjordCli(module)
    try:
        links = cli.json(["shadow", "list"]) or []
        current = None
        if any(link.get("name") == p["name"] for link in links):
            current = cli.json(["shadow", "describe", p["name"], "--print-all"])
    except FjordCliError as e:
        cli.fail(e)
    plan = plan_shadow_link(p["name"], p["state"], desired, current, p["update_password"])
    if plan["errors"]:
        module.fail_json(msg="; ".join(plan["errors"]))
    if plan["changed"] and not module.check_mode:
        try:
            if plan["action"] == "delete":
                args = ["shadow", "delete", p["name"], "--no-confirm"]
                if p["force"]:
                    args.append("--force")
                cli.json(args)
            elif plan["action"] == "create":
                cli.json(["shadow", "create", "-c", "-", "--no-confirm"],
                         data=json.dumps(plan["config"]))
            else:
                cli.json(["shadow", "update", p["name"], "-c", "-"],
                         data=json.dumps(plan["config"]))
        except FjordCliError as e:
            cli.fail(e)
    result = dict(changed=plan["changed"], action=plan["action"],
                  differences=plan["differences"])
    result.update(diff_result(module, plan))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
