# -*- coding: utf-8 -*-
# The fjord.cluster modules' plan logic: pure functions from (desired, current)
# to the changes a module must make. Nothing here runs a command or imports
# Ansible, so tests/unit exercises every decision without a cluster; the
# modules (plugins/modules/fjord_*.py) read the current state with the CLI,
# call one plan_* function, and carry the plan out unless in check mode.
#
# Every plan is a dict with at least:
#   changed  bool: whether carrying it out changes the cluster
#   before   dict: the managed object as it is (diff mode's "before")
#   after    dict: the managed object as it would be (diff mode's "after")
#   errors   list of str: what the desired state asks that cannot be done
#            (the module fails with them before changing anything)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

# What `fjord cluster config get|list` prints for a secret key that is set:
# the value cannot be compared (see plan_cluster_config).
SECRET_PLACEHOLDER = "[secret]"

# What `fjord shadow update` keeps as the current password (docs/shadow-links.md).
REDACTED_PASSWORD = "<redacted>"

ACL_RESOURCE_TYPES = {
    "topic": "TOPIC",
    "group": "GROUP",
    "cluster": "CLUSTER",
    "transactional_id": "TRANSACTIONAL_ID",
}
ACL_OPERATIONS = (
    "all", "read", "write", "create", "delete", "alter", "describe",
    "cluster_action", "describe_configs", "alter_configs", "idempotent_write",
)
CLUSTER_RESOURCE_NAME = "kafka-cluster"


def config_string(value):
    """A config value as the CLI prints it: booleans true/false, lists comma-joined.

    Ansible hands YAML's `true` over as a bool and `7` as an int; the cluster
    stores strings, so both sides are compared as the CLI's strings.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(config_string(v) for v in value)
    return str(value)


def _list_items(value):
    return [v.strip() for v in value.split(",") if v.strip()]


def same_config_value(desired, current, value_type=None):
    """Whether a desired value (already a string) equals the current one.

    List-typed keys ("a, b" vs "a,b") compare element by element; everything
    else as exact strings.
    """
    if value_type == "list":
        return _list_items(desired) == _list_items(current)
    return desired == current


# ---------------------------------------------------------------- topics


def topic_from_describe(doc):
    """The managed view of one `fjord topic describe --format json` element.

    Only configs whose source is "topic" (set on the topic itself) are kept:
    inherited cluster defaults are not the topic's and never count as drift.
    """
    summary = doc.get("summary", {})
    configs = {}
    for entry in doc.get("configs", []) or []:
        if entry.get("source", "topic") == "topic":
            configs[entry["key"]] = entry.get("value")
    return {
        "name": summary.get("name"),
        "partitions": summary.get("partitions"),
        "replication_factor": summary.get("replicas"),
        "config": configs,
    }


def plan_topic(name, state, current, partitions=None, replication_factor=None,
               config=None, purge_config=False):
    """What to do to make topic `name` match.

    current: topic_from_describe()'s dict, or None when the topic does not exist.
    partitions / replication_factor: None leaves them as they are (or the
    cluster's defaults at create). config: only the keys given are compared
    (None: configs are not managed); purge_config also resets topic-level
    keys not listed. Fewer partitions and a different replication factor
    cannot be made in place: they are errors, never silently skipped.
    """
    plan = {
        "changed": False, "action": "none", "errors": [],
        "create": None, "delete": False, "add_partitions": 0,
        "set_config": {}, "reset_config": [],
        "before": copy.deepcopy(current) if current else {},
        "after": {},
    }
    desired_config = {}
    for key, value in (config or {}).items():
        desired_config[key] = config_string(value)
    for label, value in (("partitions", partitions), ("replication_factor", replication_factor)):
        if value is not None and value < 1:
            plan["errors"].append("%s: must be at least 1, got %d" % (label, value))
    if state == "absent":
        if current is not None:
            plan.update(changed=True, action="delete", delete=True)
        return plan
    if plan["errors"]:
        return plan
    if current is None:
        after = {
            "name": name,
            "partitions": partitions if partitions is not None else "(cluster default)",
            "replication_factor": (replication_factor if replication_factor is not None
                                   else "(cluster default)"),
            "config": dict((k, v) for k, v in desired_config.items() if v is not None),
        }
        plan.update(changed=True, action="create", after=after, create={
            "partitions": partitions if partitions is not None else -1,
            "replication_factor": replication_factor if replication_factor is not None else -1,
            "config": after["config"],
        })
        return plan
    after = copy.deepcopy(current)
    if partitions is not None and partitions != current["partitions"]:
        if partitions < current["partitions"]:
            plan["errors"].append(
                "partitions: topic %s has %d partitions; they cannot be reduced to %d"
                % (name, current["partitions"], partitions))
        else:
            plan["add_partitions"] = partitions - current["partitions"]
            after["partitions"] = partitions
    if replication_factor is not None and replication_factor != current["replication_factor"]:
        plan["errors"].append(
            "replication_factor: topic %s has replication factor %d; changing it to %d "
            "needs replica moves, which this module does not make"
            % (name, current["replication_factor"], replication_factor))
    current_config = current.get("config", {})
    for key, value in sorted(desired_config.items()):
        if value is None:
            if key in current_config:
                plan["reset_config"].append(key)
                del after["config"][key]
        elif current_config.get(key) != value:
            plan["set_config"][key] = value
            after["config"][key] = value
    if purge_config and config is not None:
        for key in sorted(current_config):
            if key not in desired_config:
                plan["reset_config"].append(key)
                del after["config"][key]
    plan["after"] = after
    if plan["errors"]:
        return plan
    if plan["add_partitions"] or plan["set_config"] or plan["reset_config"]:
        plan.update(changed=True, action="update")
    return plan


# ---------------------------------------------------------------- ACLs


def acl_principal(principal):
    """User:NAME for a bare name (as the CLI adds), Role:/User: kept; '*' is User:*."""
    if principal.startswith("User:") or principal.startswith("Role:"):
        return principal
    return "User:" + principal


def acl_bindings(principal, resource_type, resource_name, pattern_type, operations,
                 permission, host):
    """The set of ACL bindings one module call names, as `acl list` prints them.

    Returns (bindings, errors); a binding is a tuple
    (principal, host, resource_type, resource_name, pattern_type, operation, permission).
    """
    errors = []
    rtype = ACL_RESOURCE_TYPES.get(resource_type)
    if rtype is None:
        errors.append("resource_type: %r is not one of %s"
                      % (resource_type, ", ".join(sorted(ACL_RESOURCE_TYPES))))
    if resource_type == "cluster":
        if resource_name not in (None, "", CLUSTER_RESOURCE_NAME):
            errors.append("resource_name: the cluster resource is always named %s, got %r"
                          % (CLUSTER_RESOURCE_NAME, resource_name))
        resource_name = CLUSTER_RESOURCE_NAME
    elif not resource_name:
        errors.append("resource_name: required for resource_type %s" % resource_type)
    if not operations:
        errors.append("operations: at least one operation is required")
    for op in operations or []:
        if op.lower() not in ACL_OPERATIONS:
            errors.append("operations: %r is not one of %s" % (op, ", ".join(ACL_OPERATIONS)))
    if not principal:
        errors.append("principal: required")
    if errors:
        return set(), errors
    bindings = set()
    for op in operations:
        bindings.add((acl_principal(principal), host or "*", rtype, resource_name,
                      pattern_type.upper(), op.upper(), permission.upper()))
    return bindings, errors


def binding_from_json(entry):
    return (entry["principal"], entry["host"], entry["resource_type"], entry["resource_name"],
            entry["resource_pattern_type"], entry["operation"], entry["permission"])


def binding_to_dict(binding):
    keys = ("principal", "host", "resource_type", "resource_name", "resource_pattern_type",
            "operation", "permission")
    return dict(zip(keys, binding))


def plan_acl(state, desired, current):
    """desired: acl_bindings()'s set; current: every binding on the cluster (a set).

    present adds the missing bindings; absent removes the listed ones that exist.
    The diff shows the bindings this call names, before and after.
    """
    present_now = desired & current
    if state == "present":
        create = sorted(desired - current)
        delete = []
        after = sorted(desired)
    else:
        create = []
        delete = sorted(present_now)
        after = []
    return {
        "changed": bool(create or delete),
        "create": create,
        "delete": delete,
        "errors": [],
        "before": {"bindings": [binding_to_dict(b) for b in sorted(present_now)]},
        "after": {"bindings": [binding_to_dict(b) for b in after]},
    }


# ---------------------------------------------------------------- users


def plan_user(name, state, exists, password, update_password):
    """SCRAM users: create, update the password, delete, or nothing.

    The cluster keeps only salted SCRAM keys, never the password, so an
    existing user's password cannot be compared with the desired one. The
    password of an existing user is therefore set only when update_password
    is true, and then always (changed every run: the answer cannot be known).
    """
    plan = {"changed": False, "action": "none", "errors": [],
            "before": {"name": name, "exists": exists},
            "after": {"name": name, "exists": state == "present"}}
    if state == "absent":
        if exists:
            plan.update(changed=True, action="delete")
        return plan
    if not exists:
        if not password:
            plan["errors"].append("password: required to create user %s" % name)
            return plan
        plan.update(changed=True, action="create")
        plan["after"]["password"] = "(set)"
    elif update_password:
        if not password:
            plan["errors"].append("password: required with update_password: true")
            return plan
        plan.update(changed=True, action="update")
        plan["before"]["password"] = "(unknown: SCRAM keys cannot be compared)"
        plan["after"]["password"] = "(set)"
    return plan


# ---------------------------------------------------------------- roles


def plan_role(name, state, current_members, members=None):
    """current_members: the role's members (None: no such role); members:
    the desired full list (None: membership not managed). Bare names are users."""
    exists = current_members is not None
    current = sorted(acl_principal(m) for m in (current_members or []))
    plan = {"changed": False, "action": "none", "errors": [], "assign": [], "unassign": [],
            "before": {"name": name, "exists": exists, "members": current} if exists else {},
            "after": {}}
    if state == "absent":
        if exists:
            plan.update(changed=True, action="delete")
        return plan
    wanted = current if members is None else sorted(set(acl_principal(m) for m in members))
    for m in wanted:
        if m.startswith("Role:"):
            plan["errors"].append("members: %s: a role's members are users" % m)
    if plan["errors"]:
        return plan
    plan["assign"] = [m for m in wanted if m not in current]
    if members is not None:
        plan["unassign"] = [m for m in current if m not in wanted]
    plan["after"] = {"name": name, "exists": True, "members": wanted}
    if not exists:
        plan.update(changed=True, action="create")
    elif plan["assign"] or plan["unassign"]:
        plan.update(changed=True, action="update")
    return plan


# ---------------------------------------------------------------- cluster config


def plan_cluster_config(desired, current, update_secrets=False):
    """desired: key -> value (None: reset to the default); current: key -> the
    `cluster config list --format json` entry (value, is_default, type, ...).

    A secret key that is set reads back as "[secret]" and cannot be compared:
    it is set again only when update_secrets is true (and is then always
    "changed"), else left alone and listed in `unknown_secrets`.
    """
    plan = {"changed": False, "errors": [], "set": {}, "reset": [], "unknown_secrets": [],
            "before": {}, "after": {}}
    for key in sorted(desired):
        if key not in current:
            plan["errors"].append("config.%s: not a cluster config key (fjord cluster config list)"
                                  % key)
    if plan["errors"]:
        return plan
    for key in sorted(desired):
        entry = current[key]
        value = config_string(desired[key])
        now = entry.get("value")
        is_secret = now == SECRET_PLACEHOLDER
        plan["before"][key] = now
        if value is None:
            if not entry.get("is_default", False):
                plan["reset"].append(key)
                plan["after"][key] = entry.get("default", "(default)")
            else:
                plan["after"][key] = now
            continue
        if is_secret:
            if update_secrets:
                plan["set"][key] = value
                plan["after"][key] = "(set again)"
            else:
                plan["unknown_secrets"].append(key)
                plan["after"][key] = now
            continue
        if same_config_value(value, now, entry.get("type")):
            plan["after"][key] = now
        else:
            plan["set"][key] = value
            plan["after"][key] = value
    plan["changed"] = bool(plan["set"] or plan["reset"])
    return plan


# ---------------------------------------------------------------- shadow links

# Fields `shadow describe` never prints back (it prints password_set,
# key_fingerprint instead): they cannot be compared.
SHADOW_SECRET_FIELDS = ("password", "key")


def _empty(value):
    return value is None or value in ("", 0, False, [], {})


def _subset_differences(desired, current, path, out, secrets_seen):
    """Differences where `desired` (a subset) is not what `current` holds.

    describe omits fields at their defaults, so a desired default (0, "",
    false, [], {}) matches a missing field.
    """
    if isinstance(desired, dict):
        if not isinstance(current, dict):
            if not (_empty(current) and all(_empty(v) for v in desired.values())):
                out.append(path or "(root)")
            return
        for key in sorted(desired):
            sub = "%s.%s" % (path, key) if path else key
            if key in SHADOW_SECRET_FIELDS and isinstance(desired[key], str):
                secrets_seen.append(sub)
                continue
            _subset_differences(desired[key], current.get(key), sub, out, secrets_seen)
        return
    if isinstance(desired, list):
        current_list = current if isinstance(current, list) else []
        if current is not None and not isinstance(current, list):
            out.append(path)
            return
        if len(desired) != len(current_list):
            out.append(path)
            return
        for i, (d, c) in enumerate(zip(desired, current_list)):
            _subset_differences(d, c, "%s[%d]" % (path, i), out, secrets_seen)
        return
    if current is None:
        if not _empty(desired):
            out.append(path)
        return
    if config_string(desired) != config_string(current):
        out.append(path)


def redact_secrets(config):
    """A copy of a shadow link config with its secrets as <redacted> (what
    update keeps, and what diff output and logs may show)."""
    if isinstance(config, dict):
        out = {}
        for key, value in config.items():
            if key in SHADOW_SECRET_FIELDS and isinstance(value, str) and value:
                out[key] = REDACTED_PASSWORD
            else:
                out[key] = redact_secrets(value)
        return out
    if isinstance(config, list):
        return [redact_secrets(v) for v in config]
    return config


def plan_shadow_link(name, state, desired, current, update_password=False):
    """desired: the link's config file as a dict (its name must be `name` or
    absent); current: `shadow describe --format json` or None.

    Only the fields given are compared. Passwords and private keys cannot
    be read back: when the link exists, update sends them as <redacted>
    (kept as they are) unless update_password is true.
    """
    plan = {"changed": False, "action": "none", "errors": [], "differences": [],
            "config": None, "before": {}, "after": {}}
    if current is not None:
        plan["before"] = dict((k, v) for k, v in current.items() if k not in ("uid", "state"))
    if state == "absent":
        if current is not None:
            plan.update(changed=True, action="delete")
        return plan
    desired = copy.deepcopy(desired or {})
    if desired.get("name", name) != name:
        plan["errors"].append("config.name: %r differs from name %r" % (desired["name"], name))
        return plan
    desired["name"] = name
    if not (desired.get("client_options") or {}).get("bootstrap_servers"):
        plan["errors"].append("config.client_options.bootstrap_servers: at least one source "
                              "broker is required")
        return plan
    if current is None:
        plan.update(changed=True, action="create", config=desired,
                    after=redact_secrets(desired))
        return plan
    differences, secrets = [], []
    _subset_differences(desired, current, "", differences, secrets)
    if update_password and secrets:
        differences.extend(secrets)
    plan["differences"] = differences
    if not differences:
        plan["after"] = plan["before"]
        return plan
    send = desired if update_password else redact_secrets(desired)
    merged = copy.deepcopy(plan["before"])
    _deep_merge(merged, redact_secrets(desired))
    plan.update(changed=True, action="update", config=send, after=merged)
    return plan


def _deep_merge(into, new):
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
