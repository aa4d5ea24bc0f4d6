"""`fjord apply` (issue 18, docs/apply.md) end to end: the built CLI against a
real dev cluster started with `fjord dev start --sasl` (one fjord-controller,
one fjord-broker; the profile carries the superuser's credentials), checked
through other commands and through kcat (librdkafka), a Kafka client nobody
here wrote.

Covered: --dry-run exits 3 while changes are pending and 0 once applied; the
field-level diff (text and JSON); a topic shrink is an error in the plan and
nothing of that plan is applied; --prune deletes only what an apply of the
same owner created; two conflicting applies at once never interleave (each
either lands whole or fails naming what moved); users' passwords from the
environment and a file work for a SASL login and never appear in any output;
`cluster config set` twice reports changed: false the second time.

Self-contained like test_cli_security.py (whose Fjord helper it uses): HOME
and XDG directories in pytest's tmp dir; the cluster is purged in teardown,
pass or fail. Each test uses its own object names (ap-<test>-...).
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest

from test_cli_security import BROKER, CONTROLLER, FJORD, Fjord, admin_password


@pytest.fixture(scope="module", autouse=True)
def _built():
    for b in (FJORD, CONTROLLER, BROKER):
        if not b.is_file():
            pytest.fail(f"{b} not found: build fjord fjord-controller fjord-broker", pytrace=False)


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    f = Fjord(tmp_path_factory.mktemp("apply-home"))
    try:
        p = f.run("dev", "start", "--sasl", "-n", "1", "--brokers", "1", "--timeout", "60s")
        assert p.returncode == 0, f"dev start --sasl failed:\n{p.stdout}\n{p.stderr}"
        yield f
    finally:
        f.cleanup()


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def apply(f: Fjord, path: Path, *flags: str, env: dict | None = None,
          stdin: str | None = None) -> subprocess.CompletedProcess:
    args = [str(FJORD), "apply", "-f", str(path), *flags]
    return subprocess.run(args, capture_output=True, text=True, timeout=90,
                          env=dict(f.env, **(env or {})), input=stdin,
                          stdin=subprocess.DEVNULL if stdin is None else None)


def plan(f: Fjord, path: Path, *flags: str, env: dict | None = None) -> dict:
    p = apply(f, path, "--format", "json", *flags, env=env)
    assert p.returncode in (0, 3), f"rc {p.returncode}\n{p.stdout}\n{p.stderr}"
    return json.loads(p.stdout)


def topics(f: Fjord) -> dict[str, dict]:
    return {t["name"]: t for t in f.json("topic", "list")}


def topic_config(f: Fjord, name: str) -> dict[str, str]:
    doc = f.json("topic", "describe", name)[0]
    return {c["key"]: c["value"] for c in doc["configs"]}


def partitions(f: Fjord, name: str) -> int:
    return f.json("topic", "describe", name)[0]["summary"]["partitions"]


def change(doc: dict, kind: str, name: str) -> dict | None:
    return next((c for c in doc["changes"] if c["kind"] == kind and c["name"] == name), None)


def test_dry_run_then_apply_then_nothing_to_do(dev: Fjord, tmp_path: Path):
    f = write(tmp_path, "state.yaml", """
topics:
  - name: ap-first-orders
    partitions: 3
    config:
      retention.ms: 86400000
acls:
  - principal: ap-first-reader
    resource_type: topic
    resource_name: ap-first-orders
    operation: read
roles:
  - name: ap-first-ops
    members: [ap-first-reader]
""")
    p = apply(dev, f, "--dry-run")
    assert p.returncode == 3, f"{p.stdout}\n{p.stderr}"
    assert "+ topic ap-first-orders" in p.stdout
    assert "+ role ap-first-ops" in p.stdout
    assert "Changes pending (--dry-run): nothing was applied." in p.stdout
    assert "ap-first-orders" not in topics(dev)  # a dry run changes nothing

    p = apply(dev, f)
    assert p.returncode == 0, f"{p.stdout}\n{p.stderr}"
    assert "+ topic ap-first-orders" in p.stdout and "Applied at revision " in p.stdout
    assert partitions(dev, "ap-first-orders") == 3
    assert topic_config(dev, "ap-first-orders")["retention.ms"] == "86400000"
    rows = dev.json("security", "acl", "list", "--topic", "ap-first-orders")["matches"]
    assert [(r["principal"], r["operation"]) for r in rows] == [("User:ap-first-reader", "READ")]
    role = dev.json("security", "role", "describe", "ap-first-ops")
    assert "User:ap-first-reader" in json.dumps(role)

    p = apply(dev, f, "--dry-run")
    assert p.returncode == 0, f"{p.stdout}\n{p.stderr}"
    assert p.stdout == "Nothing to do.\n"
    p = apply(dev, f)  # idempotent
    assert p.returncode == 0 and p.stdout == "Nothing to do.\n", p.stdout
    # From stdin, as data.
    p = apply(dev, Path("-"), "--format", "json", stdin=f.read_text())
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["changes"] == [] and doc["applied"] is False and doc["revision"] == 0


def test_field_diff(dev: Fjord, tmp_path: Path):
    base = write(tmp_path, "base.yaml", """
topics:
  - name: ap-diff-logs
    partitions: 3
""")
    assert apply(dev, base).returncode == 0
    grown = write(tmp_path, "grown.yaml", """
topics:
  - name: ap-diff-logs
    partitions: 6
    config:
      retention.ms: 86400000
""")
    p = apply(dev, grown, "--dry-run")
    assert p.returncode == 3, p.stderr
    assert "~ topic ap-diff-logs\n" in p.stdout
    assert "    partitions: 3 -> 6\n" in p.stdout
    assert "    configs.retention.ms: (unset) -> 86400000\n" in p.stdout
    assert "Plan: 0 to create, 1 to update, 0 to delete." in p.stdout
    doc = plan(dev, grown, "--dry-run")
    c = change(doc, "topic", "ap-diff-logs")
    assert c and c["action"] == "update" and c["revision"] > 0 and c["error"] is None
    fields = {x["field"]: (x["before"], x["after"]) for x in c["fields"]}
    assert fields["partitions"] == ("3", "6")
    assert fields["configs.retention.ms"] == (None, "86400000")
    assert doc["applied"] is False and doc["plan_revision"] > 0

    p = apply(dev, grown)
    assert p.returncode == 0, p.stderr
    assert partitions(dev, "ap-diff-logs") == 6
    assert topic_config(dev, "ap-diff-logs")["retention.ms"] == "86400000"
    # Back to base: the config set on the topic but absent from the file goes.
    base6 = write(tmp_path, "base6.yaml", "topics:\n  - name: ap-diff-logs\n    partitions: 6\n")
    p = apply(dev, base6, "--dry-run")
    assert p.returncode == 3 and "    configs.retention.ms: 86400000 -> (unset)\n" in p.stdout, \
        p.stdout


def test_fewer_partitions_is_an_error_and_nothing_is_applied(dev: Fjord, tmp_path: Path):
    assert apply(dev, write(tmp_path, "a.yaml",
                            "topics:\n  - name: ap-shrink-t\n    partitions: 4\n")).returncode == 0
    bad = write(tmp_path, "b.yaml", """
topics:
  - name: ap-shrink-t
    partitions: 2
  - name: ap-shrink-new
    partitions: 1
""")
    for flags in ((), ("--dry-run",)):
        p = apply(dev, bad, *flags)
        assert p.returncode == 1, f"{flags}: {p.stdout}\n{p.stderr}"
        assert "~ topic ap-shrink-t" in p.stdout and "    error: " in p.stdout
        assert "topic ap-shrink-t: " in p.stderr and "nothing was applied" in p.stderr
    assert "ap-shrink-new" not in topics(dev)
    assert partitions(dev, "ap-shrink-t") == 4
    p = apply(dev, bad, "--format", "json")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert change(doc, "topic", "ap-shrink-t")["error"]["code"]
    assert doc["applied"] is False


def test_prune_deletes_only_what_the_same_owner_created(dev: Fjord, tmp_path: Path):
    dev.ok("topic", "create", "ap-prune-byhand")
    mine = write(tmp_path, "mine.yaml", """
owner: team-a
topics:
  - name: ap-prune-a1
  - name: ap-prune-a2
""")
    assert apply(dev, mine).returncode == 0
    theirs = write(tmp_path, "theirs.yaml", "topics:\n  - name: ap-prune-b1\n")
    assert apply(dev, theirs, "--owner", "team-b").returncode == 0
    assert apply(dev, write(tmp_path, "none.yaml", "topics:\n  - name: ap-prune-c1\n")
                 ).returncode == 0  # no owner at all

    # --prune without an owner: usage.
    p = apply(dev, write(tmp_path, "noowner.yaml", "topics: []\n"), "--prune")
    assert p.returncode == 2 and "--prune needs an owner" in p.stderr, p.stderr
    p = apply(dev, mine, "--owner", "bad owner!", "--dry-run")
    assert p.returncode == 2 and "--owner" in p.stderr

    smaller = write(tmp_path, "smaller.yaml", "owner: team-a\ntopics:\n  - name: ap-prune-a1\n")
    p = apply(dev, smaller)  # without --prune nothing is deleted
    assert p.returncode == 0 and p.stdout == "Nothing to do.\n", p.stdout
    p = apply(dev, smaller, "--prune", "--dry-run")
    assert p.returncode == 3, p.stderr
    assert "- topic ap-prune-a2" in p.stdout
    for kept in ("ap-prune-byhand", "ap-prune-b1", "ap-prune-c1", "ap-prune-a1"):
        assert f"topic {kept}\n" not in p.stdout, p.stdout
    p = apply(dev, smaller, "--prune")
    assert p.returncode == 0, p.stderr
    names = topics(dev)
    assert "ap-prune-a2" not in names
    assert {"ap-prune-a1", "ap-prune-byhand", "ap-prune-b1", "ap-prune-c1"} <= set(names)
    # team-b's prune of an empty list deletes its own only.
    p = apply(dev, write(tmp_path, "b-empty.yaml", "topics: []\n"), "--prune", "--owner", "team-b")
    assert p.returncode == 0, p.stderr
    names = topics(dev)
    assert "ap-prune-b1" not in names
    assert {"ap-prune-a1", "ap-prune-byhand", "ap-prune-c1"} <= set(names)


def test_concurrent_applies_never_interleave(dev: Fjord, tmp_path: Path):
    """Two files that both set the shared topic (created by neither before
    the round), each with a topic of its own, applied at the same moment,
    several rounds. Each run lands whole or fails naming what moved; the
    end state is, object by object, that of the last run that landed."""
    conflicts = 0
    for rnd in range(6):
        files = {}
        for who, ms in (("x", 111000), ("y", 222000)):
            files[who] = write(tmp_path, f"{who}{rnd}.yaml", f"""
topics:
  - name: ap-race-shared-{rnd}
    partitions: 1
    config:
      retention.ms: {ms + rnd}
  - name: ap-race-{who}-{rnd}
    partitions: 1
""")
        results: dict[str, subprocess.CompletedProcess] = {}
        go = threading.Barrier(2)

        def run(who: str):
            go.wait()
            results[who] = apply(dev, files[who], "--format", "json")

        threads = [threading.Thread(target=run, args=(w,)) for w in files]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        landed = []
        for who, p in results.items():
            if p.returncode == 0:
                doc = json.loads(p.stdout)
                assert doc["applied"] and doc["revision"] > 0, p.stdout
                landed.append((doc["revision"], who))
            else:
                assert p.returncode == 1, f"{who}: {p.stdout}\n{p.stderr}"
                assert "the cluster changed since the plan" in p.stderr, p.stderr
                assert "run fjord apply again" in p.stderr
                conflicts += 1
        assert landed, f"round {rnd}: neither landed: {results}"
        names = topics(dev)
        for who in files:
            own = f"ap-race-{who}-{rnd}"
            assert (own in names) == any(w == who for _, w in landed), (rnd, who, landed)
        last = max(landed)[1]
        want = str((111000 if last == "x" else 222000) + rnd)
        assert topic_config(dev, f"ap-race-shared-{rnd}")["retention.ms"] == want, (rnd, landed)
    print(f"conflicts: {conflicts} of 6 rounds")


def test_user_passwords_from_env_and_file_never_printed(dev: Fjord, tmp_path: Path):
    secret_env, secret_file = "Env-Secret-7f3a9c", "File-Secret-2b8d4e"
    pw_file = write(tmp_path, "bob.pw", secret_file + "\n")
    pw_file.chmod(0o600)
    f = write(tmp_path, "users.yaml", f"""
users:
  - name: ap-alice
    password_env: AP_ALICE_PW
  - name: ap-bob
    mechanism: SCRAM-SHA-512
    password_file: {pw_file}
""")
    env = {"AP_ALICE_PW": secret_env}
    outputs = []
    for flags in (("--dry-run",), ("--dry-run", "--format", "json"), (), ("--format", "yaml")):
        p = apply(dev, f, *flags, env=env)
        assert p.returncode in (0, 3), f"{flags}: {p.stdout}\n{p.stderr}"
        outputs.append(p.stdout + p.stderr)
    assert "+ user ap-alice" in outputs[0]
    for out in outputs:
        assert secret_env not in out and secret_file not in out
    names = {u if isinstance(u, str) else u.get("name") for u in dev.json("security", "user", "list")}
    assert {"ap-alice", "ap-bob"} <= names, names

    # A real client logs in with them (SASL/SCRAM over the broker's Kafka API).
    kafka = dev.json("dev", "status")["brokers"][0]["kafka"]

    def login(user: str, mech: str, password: str) -> int:
        return subprocess.run(["kcat", "-b", kafka, "-X", "security.protocol=SASL_PLAINTEXT",
                               "-X", f"sasl.mechanisms={mech}", "-X", f"sasl.username={user}",
                               "-X", f"sasl.password={password}", "-L", "-m", "10"],
                              capture_output=True, text=True, timeout=30).returncode

    assert login("ap-alice", "SCRAM-SHA-256", secret_env) == 0
    assert login("ap-bob", "SCRAM-SHA-512", secret_file) == 0
    assert login("ap-alice", "SCRAM-SHA-256", "wrong") != 0

    # A new password is a change, shown redacted; the new one works after.
    p = apply(dev, f, "--dry-run", env={"AP_ALICE_PW": "Env-Secret-new-91"})
    assert "Env-Secret" not in p.stdout + p.stderr
    # Refusals name the key.
    p = apply(dev, f)  # AP_ALICE_PW not set
    assert p.returncode == 1 and "users[0].password_env: environment variable AP_ALICE_PW is not " \
        "set" in p.stderr, p.stderr
    inline = write(tmp_path, "inline.yaml", "users:\n  - name: ap-carol\n    password: hunter2\n")
    p = apply(dev, inline)
    assert p.returncode == 1 and "users[0].password: an inline password is not accepted" in p.stderr
    assert "hunter2" not in p.stdout + p.stderr
    p = apply(dev, write(tmp_path, "typo.yaml", "topics: []\nuserz: []\n"))
    assert p.returncode == 1 and "userz: unknown key (line 2)" in p.stderr, p.stderr


def test_cluster_config_set_twice_reports_changed_false(dev: Fjord):
    first = dev.json("cluster", "config", "set", "log_retention_ms", "3600123")
    assert first["changed"] is True and first["revision"] > 0, first
    second = dev.json("cluster", "config", "set", "log_retention_ms", "3600123")
    assert second["changed"] is False and second["revision"] == 0, second
    p = dev.ok("cluster", "config", "set", "log_retention_ms", "3600123")
    assert p.stdout == "No changes: every value is already in place.\n", p.stdout
    assert dev.ok("cluster", "config", "get", "log_retention_ms").stdout.strip() == "3600123"


def test_cluster_config_in_the_file(dev: Fjord, tmp_path: Path):
    f = write(tmp_path, "cc.yaml", "cluster_config:\n  retention_bytes: 123456789\n")
    p = apply(dev, f, "--dry-run")
    assert p.returncode == 3 and "cluster_config retention_bytes" in p.stdout, p.stdout
    assert apply(dev, f).returncode == 0
    assert dev.ok("cluster", "config", "get", "retention_bytes").stdout.strip() == "123456789"
    p = apply(dev, f, "--dry-run")
    assert p.returncode == 0 and p.stdout == "Nothing to do.\n", p.stdout


def test_shadow_links_after_the_batch(dev: Fjord, tmp_path: Path):
    """A link from this cluster to itself (the preflight needs a reachable
    source; a filter nothing matches keeps it from shadowing anything):
    created, then nothing to do, then updated field by field; never pruned.
    An invalid config is an error in the plan (nothing applied); an
    unreachable source fails after the batch, which stays applied. The
    source (this cluster, --sasl) is logged in to as admin, the password from
    password_env, never printed."""
    kafka = dev.json("dev", "status")["brokers"][0]["kafka"]
    secret = admin_password(dev)
    env = {"AP_SOURCE_PW": secret}

    def link_file(name: str, age: int, extra: str = "") -> Path:
        return write(tmp_path, f"{name}-{age}.yaml", f"""
owner: ap-links
topics:
  - name: ap-link-{name}-{age}
shadow_links:
  - name: {name}
    password_env: AP_SOURCE_PW
    config:
      client_options:
        bootstrap_servers: ["{kafka}"]
        metadata_max_age_ms: {age}
        authentication_configuration:
          scram_configuration: {{username: admin, scram_mechanism: SCRAM-SHA-256}}
      topic_metadata_sync_options:
        auto_create_shadow_topic_filters:
          - {{pattern_type: LITERAL, filter_type: INCLUDE, name: ap-nothing-matches}}
{extra}""")

    try:
        first = link_file("ap-self", 1000)
        p = apply(dev, first, "--dry-run", env=env)
        assert p.returncode == 3 and "+ shadow_link ap-self\n" in p.stdout, p.stdout
        assert dev.run("shadow", "describe", "ap-self").returncode == 1  # not created
        p = apply(dev, first, env=env)
        assert p.returncode == 0 and "Applied at revision" in p.stdout, p.stdout + p.stderr
        assert secret not in p.stdout + p.stderr
        assert dev.json("shadow", "describe", "ap-self")["client_options"][
            "metadata_max_age_ms"] == 1000
        p = apply(dev, first, "--dry-run", env=env)
        assert p.returncode == 0 and p.stdout == "Nothing to do.\n", p.stdout

        second = link_file("ap-self", 2000)
        doc = plan(dev, second, "--dry-run", env=env)
        c = change(doc, "shadow_link", "ap-self")
        assert c["action"] == "update" and c["revision"] > 0
        assert c["fields"] == [{"field": "config.client_options.metadata_max_age_ms",
                                "before": "1000", "after": "2000"}]
        p = apply(dev, second, env=env)
        assert p.returncode == 0 and secret not in p.stdout + p.stderr, p.stderr
        assert dev.json("shadow", "describe", "ap-self")["client_options"][
            "metadata_max_age_ms"] == 2000

        # --prune never deletes a link (the topic of the first file goes).
        p = apply(dev, write(tmp_path, "nolinks.yaml", "topics: []\nshadow_links: []\n"),
                  "--prune", "--owner", "ap-links")
        assert p.returncode == 0, p.stderr
        assert "shadow_link" not in p.stdout and "- topic ap-link-ap-self-1000" in p.stdout
        assert dev.run("shadow", "describe", "ap-self").returncode == 0

        # A config validate_link refuses: an error in the plan, nothing applied.
        bad = write(tmp_path, "bad.yaml", """
topics:
  - name: ap-link-bad-topic
shadow_links:
  - name: ap-bad
    config:
      client_options:
        bootstrap_servers: []
""")
        p = apply(dev, bad)
        assert p.returncode == 1 and "shadow link ap-bad" not in p.stdout, p.stdout
        assert "shadow_link ap-bad: INVALID_ARGUMENT: shadow_links[0].config: " in p.stderr, \
            p.stderr
        assert "ap-link-bad-topic" not in topics(dev)

        # An unreachable source: the batch lands, the link fails after it.
        # (One link per cluster: the first goes.)
        dev.ok("shadow", "delete", "ap-self", "--no-confirm", "--force")
        gone = write(tmp_path, "gone.yaml", """
topics:
  - name: ap-link-gone-topic
shadow_links:
  - name: ap-gone
    config:
      client_options:
        bootstrap_servers: ["127.0.0.1:1"]
""")
        p = apply(dev, gone)
        assert p.returncode == 1, p.stdout
        assert "shadow link ap-gone: SHADOW_LINK_UNREACHABLE" in p.stderr, p.stderr
        assert "not part of it (the batch was applied at revision " in p.stderr
        assert "ap-link-gone-topic" in topics(dev)
    finally:
        for link in ("ap-self", "ap-gone"):
            dev.run("shadow", "delete", link, "--no-confirm", "--force")
