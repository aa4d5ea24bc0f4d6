# Unit tests of the fjord.cluster modules' plan logic (plugins/module_utils/fjord_plan.py)
# and of how connection options become the CLI's argv and environment (fjord_cli.py).
# Run: /usr/bin/python3 -m pytest -q ansible/tests/unit
# Both files import nothing from Ansible at module level, so they load by path.

import importlib.util
import os
import sys

import pytest

UTILS = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "module_utils")


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(UTILS, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


plan = _load("fjord_plan")
cli = _load("fjord_cli")


# ------------------------------------------------------------ topics

def described(partitions=3, replicas=1, configs=None, inherited=None):
    doc = {"summary": {"name": "t", "partitions": partitions, "replicas": replicas},
           "configs": [{"key": k, "value": v, "source": "topic"}
                       for k, v in (configs or {}).items()]}
    for k, v in (inherited or {}).items():
        doc["configs"].append({"key": k, "value": v, "source": "cluster"})
    return plan.topic_from_describe(doc)


def test_topic_missing_is_created_with_cluster_defaults_for_unset_counts():
    p = plan.plan_topic("t", "present", None, config={"retention.ms": 1000, "x": True})
    assert p["changed"] and p["action"] == "create"
    assert p["create"] == {"partitions": -1, "replication_factor": -1,
                           "config": {"retention.ms": "1000", "x": "true"}}
    assert p["before"] == {}


def test_topic_identical_is_unchanged():
    cur = described(configs={"retention.ms": "1000"})
    p = plan.plan_topic("t", "present", cur, partitions=3, replication_factor=1,
                        config={"retention.ms": 1000})
    assert not p["changed"] and p["action"] == "none"
    assert p["before"] == p["after"]


def test_topic_only_named_configs_are_compared_and_inherited_ones_ignored():
    cur = described(configs={"retention.ms": "1000", "cleanup.policy": "compact"},
                    inherited={"segment.bytes": "1"})
    assert "segment.bytes" not in cur["config"]
    p = plan.plan_topic("t", "present", cur, config={"retention.ms": "1000"})
    assert not p["changed"]


def test_topic_purge_config_resets_unlisted_topic_configs():
    cur = described(configs={"retention.ms": "1000", "cleanup.policy": "compact"})
    p = plan.plan_topic("t", "present", cur, config={"retention.ms": "1000"}, purge_config=True)
    assert p["changed"] and p["reset_config"] == ["cleanup.policy"]
    assert p["after"]["config"] == {"retention.ms": "1000"}


def test_topic_changed_config_and_more_partitions_is_one_update():
    cur = described(partitions=3, configs={"retention.ms": "1000"})
    p = plan.plan_topic("t", "present", cur, partitions=5, config={"retention.ms": 2000,
                                                                  "gone": None})
    assert p["action"] == "update"
    assert p["add_partitions"] == 2
    assert p["set_config"] == {"retention.ms": "2000"}
    assert p["reset_config"] == []  # "gone" is not set, so nothing to reset
    assert p["before"]["partitions"] == 3 and p["after"]["partitions"] == 5


def test_topic_null_config_resets_a_set_key():
    cur = described(configs={"retention.ms": "1000"})
    p = plan.plan_topic("t", "present", cur, config={"retention.ms": None})
    assert p["reset_config"] == ["retention.ms"] and p["changed"]


def test_topic_fewer_partitions_and_rf_change_are_errors_not_skips():
    cur = described(partitions=3, replicas=1)
    p = plan.plan_topic("t", "present", cur, partitions=2)
    assert p["errors"] and "cannot be reduced" in p["errors"][0]
    assert not p["changed"]
    p = plan.plan_topic("t", "present", cur, replication_factor=3)
    assert p["errors"] and "replication_factor" in p["errors"][0]
    assert not p["changed"]


def test_topic_bad_counts_are_errors_naming_the_field():
    p = plan.plan_topic("t", "present", None, partitions=0)
    assert p["errors"] == ["partitions: must be at least 1, got 0"]


def test_topic_absent():
    assert plan.plan_topic("t", "absent", None)["changed"] is False
    p = plan.plan_topic("t", "absent", described())
    assert p["changed"] and p["action"] == "delete" and p["after"] == {}


# ------------------------------------------------------------ ACLs

def test_acl_bindings_expand_per_operation_and_add_user_prefix():
    b, errors = plan.acl_bindings("alice", "topic", "orders", "literal", ["read", "write"],
                                  "allow", "*")
    assert not errors
    assert b == {("User:alice", "*", "TOPIC", "orders", "LITERAL", "READ", "ALLOW"),
                 ("User:alice", "*", "TOPIC", "orders", "LITERAL", "WRITE", "ALLOW")}


def test_acl_cluster_resource_is_kafka_cluster_and_roles_keep_prefix():
    b, errors = plan.acl_bindings("Role:ops", "cluster", None, "literal", ["describe"],
                                  "deny", "10.0.0.1")
    assert not errors
    assert b == {("Role:ops", "10.0.0.1", "CLUSTER", "kafka-cluster", "LITERAL", "DESCRIBE",
                  "DENY")}
    _, errors = plan.acl_bindings("x", "cluster", "other", "literal", ["describe"], "allow", "*")
    assert errors and errors[0].startswith("resource_name:")


def test_acl_validation_names_fields():
    _, errors = plan.acl_bindings("x", "topic", "", "literal", ["fly"], "allow", "*")
    assert any(e.startswith("resource_name:") for e in errors)
    assert any(e.startswith("operations:") for e in errors)


def test_acl_present_adds_only_missing_and_absent_removes_only_named():
    want, _ = plan.acl_bindings("alice", "topic", "t", "literal", ["read", "write"], "allow", "*")
    other = ("User:bob", "*", "TOPIC", "t", "LITERAL", "READ", "ALLOW")
    have_read = ("User:alice", "*", "TOPIC", "t", "LITERAL", "READ", "ALLOW")
    p = plan.plan_acl("present", want, {have_read, other})
    assert p["changed"] and p["create"] == [("User:alice", "*", "TOPIC", "t", "LITERAL",
                                             "WRITE", "ALLOW")]
    assert p["delete"] == []
    assert plan.plan_acl("present", want, want | {other})["changed"] is False
    p = plan.plan_acl("absent", want, {have_read, other})
    assert p["delete"] == [have_read] and p["create"] == []
    assert plan.plan_acl("absent", want, {other})["changed"] is False


# ------------------------------------------------------------ users

def test_user_create_needs_password():
    assert plan.plan_user("u", "present", False, None, False)["errors"]
    p = plan.plan_user("u", "present", False, "pw", False)
    assert p["action"] == "create" and p["changed"]


def test_existing_user_password_is_not_touched_without_update_password():
    p = plan.plan_user("u", "present", True, "pw", False)
    assert not p["changed"] and p["action"] == "none"
    p = plan.plan_user("u", "present", True, "pw", True)
    assert p["changed"] and p["action"] == "update"
    assert "pw" not in repr(p)  # the password never enters the plan (diff output)


def test_user_absent():
    assert plan.plan_user("u", "absent", True, None, False)["action"] == "delete"
    assert not plan.plan_user("u", "absent", False, None, False)["changed"]


# ------------------------------------------------------------ roles

def test_role_create_with_members():
    p = plan.plan_role("r", "present", None, ["alice", "User:bob"])
    assert p["action"] == "create" and p["assign"] == ["User:alice", "User:bob"]


def test_role_members_are_made_exact_when_given_and_left_alone_when_not():
    p = plan.plan_role("r", "present", ["User:alice", "User:carol"], ["alice", "bob"])
    assert p["assign"] == ["User:bob"] and p["unassign"] == ["User:carol"]
    assert p["action"] == "update"
    p = plan.plan_role("r", "present", ["User:alice"], None)
    assert not p["changed"]
    p = plan.plan_role("r", "present", ["User:alice"], ["alice"])
    assert not p["changed"]


def test_role_members_cannot_be_roles():
    assert plan.plan_role("r", "present", [], ["Role:x"])["errors"]


def test_role_absent():
    assert plan.plan_role("r", "absent", [], None)["action"] == "delete"
    assert not plan.plan_role("r", "absent", None, None)["changed"]


# ------------------------------------------------------------ cluster config

def entries(**kv):
    out = {}
    for k, v in kv.items():
        value, is_default, typ = v
        out[k] = {"key": k, "value": value, "is_default": is_default, "type": typ,
                  "default": "D"}
    return out


def test_cluster_config_compares_normalised_values():
    cur = entries(enable_sasl=("true", False, "bool"), superusers=("a, b", False, "list"),
                  log_retention_ms=("1000", False, "int"))
    p = plan.plan_cluster_config({"enable_sasl": True, "superusers": ["a", "b"],
                                  "log_retention_ms": 1000}, cur)
    assert not p["changed"] and p["set"] == {}
    p = plan.plan_cluster_config({"superusers": ["b", "a"], "log_retention_ms": 5}, cur)
    assert p["set"] == {"superusers": "b,a", "log_retention_ms": "5"}


def test_cluster_config_null_resets_only_non_defaults():
    cur = entries(a=("1", False, "int"), b=("2", True, "int"))
    p = plan.plan_cluster_config({"a": None, "b": None}, cur)
    assert p["reset"] == ["a"] and p["after"]["a"] == "D"


def test_cluster_config_unknown_key_is_an_error():
    p = plan.plan_cluster_config({"nope": 1}, entries(a=("1", True, "int")))
    assert p["errors"] == ["config.nope: not a cluster config key (fjord cluster config list)"]


def test_cluster_config_set_secret_is_not_compared_unless_asked():
    cur = entries(s=("[secret]", False, "string"))
    p = plan.plan_cluster_config({"s": "x"}, cur)
    assert not p["changed"] and p["unknown_secrets"] == ["s"]
    p = plan.plan_cluster_config({"s": "x"}, cur, update_secrets=True)
    assert p["changed"] and p["set"] == {"s": "x"}


# ------------------------------------------------------------ shadow links

LINK = {"client_options": {"bootstrap_servers": ["h:9092"]},
        "topic_metadata_sync_options": {"auto_create_shadow_topic_filters": [
            {"pattern_type": "PREFIX", "filter_type": "INCLUDE", "name": "a-"}]}}


def described_link(**extra):
    d = {"name": "l", "uid": "u", "state": "ACTIVE"}
    d.update(LINK)
    d.update(extra)
    return d


def test_shadow_missing_is_created_with_its_name():
    p = plan.plan_shadow_link("l", "present", LINK, None)
    assert p["action"] == "create" and p["config"]["name"] == "l"


def test_shadow_defaults_match_missing_fields():
    desired = dict(LINK, client_options={"bootstrap_servers": ["h:9092"],
                                         "metadata_max_age_ms": 0})
    assert not plan.plan_shadow_link("l", "present", desired, described_link())["changed"]


def test_shadow_difference_is_an_update_naming_the_field():
    desired = dict(LINK, topic_metadata_sync_options={
        "paused": True,
        "auto_create_shadow_topic_filters": LINK["topic_metadata_sync_options"][
            "auto_create_shadow_topic_filters"]})
    p = plan.plan_shadow_link("l", "present", desired, described_link())
    assert p["action"] == "update"
    assert p["differences"] == ["topic_metadata_sync_options.paused"]
    assert p["after"]["topic_metadata_sync_options"]["paused"] is True


def test_shadow_password_is_kept_redacted_unless_update_password():
    auth = {"scram_configuration": {"username": "u", "password": "pw"}}
    desired = {"client_options": {"bootstrap_servers": ["h:9092"],
                                  "authentication_configuration": auth}}
    cur = described_link(client_options={
        "bootstrap_servers": ["h:9092"],
        "authentication_configuration": {"scram_configuration": {
            "username": "u", "password_set": True}}})
    p = plan.plan_shadow_link("l", "present", desired, cur)
    assert not p["changed"]
    p = plan.plan_shadow_link("l", "present", desired, cur, update_password=True)
    assert p["changed"]
    assert "pw" not in repr(p["after"])
    desired["client_options"]["bootstrap_servers"] = ["h2:9092"]
    p = plan.plan_shadow_link("l", "present", desired, cur)
    assert p["changed"]
    assert p["config"]["client_options"]["authentication_configuration"][
        "scram_configuration"]["password"] == plan.REDACTED_PASSWORD


def test_shadow_name_mismatch_and_missing_servers_are_errors():
    assert plan.plan_shadow_link("l", "present", dict(LINK, name="other"), None)["errors"]
    assert plan.plan_shadow_link("l", "present", {"client_options": {}}, None)["errors"]


def test_shadow_list_length_change_is_a_difference():
    desired = {"client_options": {"bootstrap_servers": ["h:9092", "h2:9092"]}}
    p = plan.plan_shadow_link("l", "present", desired, described_link())
    assert p["differences"] == ["client_options.bootstrap_servers"]


# ------------------------------------------------------------ the command line

def test_credentials_go_in_the_environment_never_argv():
    argv, env = cli.build_command({"fjord_cli": "/usr/bin/fjord", "user": "admin",
                                   "password": "s3cret", "controllers": ["a:1", "b:2"],
                                   "admin_tls_ca": "/ca.pem", "profile": "prod"},
                                  ["topic", "list"])
    assert "s3cret" not in " ".join(argv)
    assert env == {"FJORD_USER": "admin", "FJORD_PASS": "s3cret"}
    assert argv == ["/usr/bin/fjord", "--format", "json", "--profile", "prod",
                    "-X", "controllers=a:1,b:2", "-X", "admin.tls.ca=/ca.pem", "topic", "list"]


def test_unset_options_leave_the_profile_in_charge():
    argv, env = cli.build_command({}, ["version"])
    assert argv == ["fjord", "--format", "json", "version"] and env == {}


def test_user_without_password_is_refused():
    with pytest.raises(ValueError):
        cli.build_command({"user": "a"}, [])


def test_config_string():
    assert plan.config_string(True) == "true"
    assert plan.config_string([1, "b", False]) == "1,b,false"
    assert plan.config_string(None) is None
