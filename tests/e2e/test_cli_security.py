"""`fjord security` and `fjord dev start --sasl`, end to end through the built
binary against a real secured dev cluster (one fjord-controller, one
fjord-broker): the quickstart's flow through the "dev" profile's credentials,
calls refused without or with wrong credentials (and nothing changed), ACLs
created, listed, checked and deleted (multiplicative create, filters, --dry,
the confirmation), users created with a generated password printed once,
updated from stdin, logged in with over Kafka SASL, and deleted, and a role's
whole life.

Self-contained like test_cli_dev.py: fjord runs with HOME and the XDG
directories in pytest's tmp dir; the cluster is purged in teardown, pass or
fail, and any process of it still running is SIGKILLed by its recorded pid
after checking /proc/PID/cmdline names its config file.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("FJORD_BUILD_DIR", REPO_ROOT / "build")).resolve()
FJORD = BUILD_DIR / "bin" / "fjord"
CONTROLLER = BUILD_DIR / "bin" / "fjord-controller"
BROKER = BUILD_DIR / "bin" / "fjord-broker"

# A refused call is answered at once (never retried): well under the 30 s
# retry budget.
REFUSAL_S = 5.0


def live_pids(state: Path) -> list[int]:
    pids = []
    for kind in ("broker", "controller"):
        for pid_file in state.glob(f"{kind}-*/pid"):
            try:
                pid = int(pid_file.read_text().strip())
                args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except (ValueError, OSError):
                continue
            config = str(pid_file.parent / f"{kind}.yaml").encode()
            if args and Path(args[0].decode()).name == f"fjord-{kind}" and config in args:
                pids.append(pid)
    return pids


class Fjord:
    """The built fjord with a private HOME and XDG directories."""

    def __init__(self, home: Path):
        self.config_home = home / "config"
        self.state = home / "state" / "fjord" / "dev"
        self.profile_file = self.config_home / "fjord" / "fjord.yaml"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("FJORD_", "XDG_"))}
        self.env.update(HOME=str(home), XDG_CONFIG_HOME=str(self.config_home),
                        XDG_STATE_HOME=str(home / "state"))
        home.mkdir(parents=True, exist_ok=True)

    def run(self, *args: str, stdin: str | None = None, timeout: float = 90):
        t0 = time.monotonic()
        p = subprocess.run([str(FJORD), *args], capture_output=True, text=True, env=self.env,
                           timeout=timeout, input=stdin,
                           stdin=subprocess.DEVNULL if stdin is None else None)
        p.elapsed = time.monotonic() - t0  # type: ignore[attr-defined]
        return p

    def ok(self, *args: str, **kw) -> subprocess.CompletedProcess:
        p = self.run(*args, **kw)
        assert p.returncode == 0, f"fjord {' '.join(args)}: rc {p.returncode}\n{p.stdout}\n{p.stderr}"
        return p

    def fails(self, code: int, *args: str, **kw) -> subprocess.CompletedProcess:
        p = self.run(*args, **kw)
        assert p.returncode == code, (f"fjord {' '.join(args)}: rc {p.returncode}, want {code}\n"
                                      f"{p.stdout}\n{p.stderr}")
        return p

    def json(self, *args: str, **kw):
        return json.loads(self.ok(*args, "--format", "json", **kw).stdout)

    def cleanup(self) -> None:
        if self.state.exists():
            try:
                self.run("dev", "purge", "--timeout", "15s", timeout=60)
            except subprocess.TimeoutExpired:
                pass
            for pid in live_pids(self.state):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module", autouse=True)
def _fjord_built():
    for b in (FJORD, CONTROLLER, BROKER):
        if not b.is_file():
            pytest.fail(f"{b} not found: ninja -C {BUILD_DIR} fjord fjord-controller fjord-broker",
                        pytrace=False)


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """One dev cluster started with --sasl --tls (1 controller, 1 broker): fully
    secured, every listener TLS from the dev CA."""
    f = Fjord(tmp_path_factory.mktemp("sec-home"))
    try:
        p = f.run("dev", "start", "--sasl", "--tls", "-n", "1", "--brokers", "1", "--timeout",
                  "60s")
        assert p.returncode == 0, f"dev start --sasl --tls failed:\n{p.stdout}\n{p.stderr}"
        f.start_output = p.stdout  # type: ignore[attr-defined]
        yield f
    finally:
        f.cleanup()


def as_user(user: str, password: str, *args: str) -> list[str]:
    return ["-X", f"user={user}", "-X", f"pass={password}", *args]


def admin_password(f: Fjord) -> str:
    return json.loads((f.state / "sasl.json").read_text())["password"]


def acl_rows(f: Fjord, *flags: str) -> list[dict]:
    return f.json("security", "acl", "list", *flags)["matches"]


# --------------------------------------------------------------------------
# fjord dev start --sasl: the quickstart, secured.


def test_dev_start_sasl_tls_quickstart_through_the_profile(secured: Fjord):
    out = secured.start_output  # type: ignore[attr-defined]
    assert "Security is on" in out and 'Superuser "admin"' in out
    password = admin_password(secured)
    assert password not in out  # the password is in files, never printed
    assert len(password) == 30 and password.isalnum()
    assert (secured.state / "sasl.json").stat().st_mode & 0o777 == 0o600
    broker_yaml = next(secured.state.glob("broker-*/broker.yaml"))
    assert broker_yaml.stat().st_mode & 0o777 == 0o600  # it holds the credential too
    assert (secured.profile_file.stat().st_mode & 0o777) == 0o600

    # TLS: the dev CA and one certificate per process, keys 0600; the
    # profile trusts the CA for both APIs.
    ca = secured.state / "tls" / "ca.crt"
    assert (secured.state / "tls" / "ca.key").stat().st_mode & 0o777 == 0o600
    for key in secured.state.glob("*-*/tls/node.key"):
        assert key.stat().st_mode & 0o777 == 0o600, key
    assert len(list(secured.state.glob("*-*/tls/node.key"))) == 2

    settings = secured.json("profile", "print")["settings"]
    assert settings["tls.ca"] == str(ca) and settings["admin.tls.ca"] == str(ca)
    assert settings["user"] == "admin"
    assert settings["sasl.mechanism"] == "SCRAM-SHA-256"
    assert settings["pass"] != password  # printed as "(set)", never echoed

    for key in ("enable_sasl", "kafka_enable_authorization", "admin_api_require_auth"):
        assert secured.ok("cluster", "config", "get", key).stdout.strip() == "true", key
    assert secured.ok("cluster", "config", "get", "superusers").stdout.strip() == "admin"

    # The README's quickstart, with security on: the profile carries the
    # credentials to the controllers (basic auth) and the broker (SCRAM).
    secured.ok("topic", "create", "quickstart", "-p", "3", "--wait")
    sent = [f"quickstart record {i}" for i in (1, 2, 3)]
    secured.ok("topic", "produce", "quickstart", stdin="\n".join(sent) + "\n", timeout=60)
    got = secured.ok("topic", "consume", "quickstart", "-o", ":end", "-f", "%v\\n", timeout=60)
    assert sorted(got.stdout.splitlines()) == sent

    # An ordinary Kafka client: over TLS with the SASL login it sees the
    # topic; without the login, or in plaintext, the broker does not serve it.
    kafka = secured.json("dev", "status")["brokers"][0]["kafka"]
    md = subprocess.run(["kcat", "-b", kafka, "-X", "security.protocol=SASL_SSL",
                         "-X", f"ssl.ca.location={ca}",
                         "-X", "sasl.mechanisms=SCRAM-SHA-256", "-X", "sasl.username=admin",
                         "-X", f"sasl.password={password}", "-L", "-t", "quickstart", "-m", "10"],
                        capture_output=True, text=True, timeout=30)
    assert md.returncode == 0 and "quickstart" in md.stdout, md.stderr
    anon = subprocess.run(["kcat", "-b", kafka, "-X", "security.protocol=SSL", "-X",
                           f"ssl.ca.location={ca}", "-L", "-t", "quickstart", "-m", "3"],
                          capture_output=True, text=True, timeout=30)
    assert anon.returncode != 0 or "partitions" not in anon.stdout, anon.stdout
    plain = subprocess.run(["kcat", "-b", kafka, "-X", "security.protocol=SASL_PLAINTEXT", "-X",
                            "sasl.mechanisms=SCRAM-SHA-256", "-X", "sasl.username=admin", "-X",
                            f"sasl.password={password}", "-L", "-m", "3"],
                           capture_output=True, text=True, timeout=30)
    assert plain.returncode != 0, plain.stdout
    # The controller API refuses a plaintext CLI, saying why.
    p = secured.fails(1, "topic", "list", "-X", "admin.tls.ca=", "-X", "admin.tls.enabled=false")
    assert "serves TLS" in p.stderr, p.stderr

    # Restarting keeps security on and the profile working.
    secured.ok("dev", "stop")
    secured.ok("dev", "start", "--timeout", "60s")
    assert secured.json("topic", "describe", "quickstart")[0]["summary"]["partitions"] == 3


def test_describe_asks_each_leader_over_tls_and_sasl(secured: Fjord):
    """topic describe's offsets and sizes come from the partitions' leaders
    over Kafka (ListOffsets, DescribeLogDirs) with the profile's TLS and
    SCRAM login, as librdkafka's clients use them."""
    secured.ok("topic", "create", "described", "-p", "2", "--wait")
    secured.ok("topic", "produce", "described", stdin="a\nb\nc\n", timeout=60)
    parts = secured.json("topic", "describe", "described")[0]["partitions"]
    assert all("storage_error" not in p for p in parts), parts
    assert sum(p["high_watermark"] for p in parts) == 3
    assert all(p["log_start_offset"] == 0 and p["local_start_offset"] == 0 for p in parts)
    assert sum(p["local_size_bytes"] for p in parts) > 0
    assert all(p["remote_size_bytes"] is None for p in parts)  # no cloud storage here
    # A wrong password for the brokers only is not possible (the controllers
    # take the same login); an unknown SASL mechanism is named.
    p = secured.run("topic", "describe", "described", "-p", "-X", "sasl.mechanism=PLAIN")
    assert p.returncode == 0, p.stderr
    assert "SASL authentication" in p.stderr, p.stderr


def test_calls_without_or_with_wrong_credentials_are_refused(secured: Fjord):
    # -X with empty values overrides the profile's credentials: none are sent.
    p = secured.fails(1, "-X", "user=", "-X", "pass=", "topic", "create", "refused-1")
    assert "unauthenticated" in p.stderr and "no credentials were sent" in p.stderr, p.stderr
    assert p.elapsed < REFUSAL_S, "a refusal is final at once, never retried"
    assert "outcome unknown" not in p.stderr

    p = secured.fails(1, *as_user("admin", "wrong-password", "topic", "list"))
    assert "unauthenticated" in p.stderr and 'as user "admin"' in p.stderr, p.stderr
    assert p.elapsed < REFUSAL_S

    # A user without any ACL: authenticated, then denied; nothing changes.
    pw = secured.json("security", "user", "create", "nobody")["password"]
    p = secured.fails(1, *as_user("nobody", pw, "topic", "create", "refused-2"))
    assert "permission denied" in p.stderr and 'as user "nobody"' in p.stderr, p.stderr
    assert "CREATE" in p.stderr
    names = {t["name"] for t in secured.json("topic", "list")}
    assert not names & {"refused-1", "refused-2"}

    # Half a credential is a usage error, caught before any call.
    p = secured.fails(2, "-X", "pass=", "topic", "list")
    assert "user is set" in p.stderr and "pass is not" in p.stderr


# --------------------------------------------------------------------------
# ACLs.


def test_acl_create_list_check_delete(secured: Fjord):
    created = secured.json("security", "acl", "create", "--allow-principal", "bob,User:carol",
                           "--topic", "acl-a,acl-b", "--operation", "read,write")
    assert len(created) == 8  # 2 principals x 1 host x 2 topics x 2 operations
    assert all(r["error"] == "" and r["permission"] == "ALLOW" and r["host"] == "*"
               for r in created)
    assert {r["principal"] for r in created} == {"User:bob", "User:carol"}
    text = secured.ok("security", "acl", "create", "--deny-principal", "bob", "--deny-host",
                      "10.1.2.3", "--topic", "acl-a", "--operation", "write").stdout
    assert text.splitlines()[0].split() == ["PRINCIPAL", "HOST", "RESOURCE-TYPE", "RESOURCE-NAME",
                                            "RESOURCE-PATTERN-TYPE", "OPERATION", "PERMISSION",
                                            "ERROR"]
    # Creating an existing binding again is no error.
    again = secured.json("security", "acl", "create", "--allow-principal", "bob", "--topic",
                         "acl-a", "--operation", "read")
    assert again[0]["error"] == ""

    assert len(acl_rows(secured, "--allow-principal", "bob")) == 4
    assert len(acl_rows(secured, "--deny-principal", "bob")) == 1
    assert len(acl_rows(secured, "--topic", "acl-a")) == 5
    assert len(acl_rows(secured, "--topic", "acl-a", "--resource-pattern-type", "prefixed")) == 0
    assert len(acl_rows(secured, "--topic", "acl-a", "--operation", "write",
                        "--resource-pattern-type", "match")) == 3

    # check: READ implies DESCRIBE; nothing for dave; the DENY from its host wins.
    ok = secured.json("security", "acl", "check", "--principal", "bob", "--operation",
                      "describe", "--topic", "acl-a")
    assert ok["allowed"] is True and ok["reason"] == "allowed_by_binding"
    assert ok["binding"]["principal"] == "User:bob" and ok["binding"]["permission"] == "ALLOW"
    no = secured.json("security", "acl", "check", "--principal", "dave", "--operation", "read",
                      "--topic", "acl-a")
    assert no["allowed"] is False and no["reason"] == "no_binding_matched"
    deny = secured.ok("security", "acl", "check", "--principal", "bob", "--operation", "write",
                      "--topic", "acl-a", "--host", "10.1.2.3").stdout
    assert deny.startswith("DENIED: User:bob may not WRITE TOPIC acl-a from 10.1.2.3"), deny
    assert "denied_by_binding" in deny
    secured.fails(2, "security", "acl", "check", "--principal", "bob", "--operation", "read")

    # A user with the right ACL may do what it grants through the controller.
    pw = secured.json("security", "user", "create", "bob")["password"]
    secured.fails(1, *as_user("bob", pw, "topic", "create", "acl-bob"))
    secured.ok("security", "acl", "create", "--allow-principal", "bob", "--topic", "acl-bob",
               "--operation", "create")
    secured.ok(*as_user("bob", pw, "topic", "create", "acl-bob"))

    # delete: shows and asks first; without a terminal it refuses unless
    # --no-confirm, deleting nothing.
    p = secured.fails(2, "security", "acl", "delete", "--allow-principal", "carol")
    assert "stdin is not a terminal" in p.stderr and "--no-confirm" in p.stderr
    dry = secured.json("security", "acl", "delete", "--allow-principal", "carol", "--dry")
    assert len(dry["matches"]) == 4
    assert len(acl_rows(secured, "--allow-principal", "carol")) == 4
    gone = secured.json("security", "acl", "delete", "--allow-principal", "carol",
                        "--no-confirm")
    assert len(gone["deletions"]) == 4 and all(d["error"] == "" for d in gone["deletions"])
    assert acl_rows(secured, "--allow-principal", "carol") == []
    assert len(acl_rows(secured, "--allow-principal", "bob")) == 5

    # Usage errors name the flag; exit 2.
    p = secured.fails(2, "security", "acl", "create", "--allow-principal", "x", "--topic", "t",
                      "--operation", "reed")
    assert '--operation "reed"' in p.stderr
    assert "IDEMPOTENT_WRITE" in secured.ok("security", "acl", "--help-operations").stdout


# --------------------------------------------------------------------------
# Users.


def test_user_create_update_login_list_delete(secured: Fjord):
    p = secured.ok("security", "user", "create", "alice")
    lines = p.stdout.splitlines()
    assert lines[0] == 'Created user "alice" (SCRAM-SHA-256).'
    password = lines[-1]
    assert re.fullmatch(r"[A-Za-z0-9]{30}", password), p.stdout
    assert p.stdout.count(password) == 1 and password not in p.stderr

    # Authenticated as alice (refused for lack of ACLs, not for the password).
    p = secured.fails(1, *as_user("alice", password, "security", "user", "list"))
    assert "permission denied" in p.stderr, p.stderr

    # A given password is never printed; --password - reads it from stdin.
    p = secured.ok("security", "user", "create", "walt", "--password", "given-secret-1",
                   "--mechanism", "SCRAM-SHA-512")
    assert "given-secret-1" not in p.stdout + p.stderr
    secured.ok("security", "user", "update", "alice", "--new-password", "-", "--mechanism",
               "scram-sha-512", stdin="alice-new-pass\n")
    p = secured.fails(1, *as_user("alice", password, "topic", "list"))
    assert "unauthenticated" in p.stderr
    secured.fails(1, *as_user("alice", "alice-new-pass", "security", "user", "list"))

    # Kafka SASL with SCRAM-SHA-512 from -X, for a user with an ACL.
    secured.ok("topic", "create", "alice-topic", "--wait")
    secured.ok("security", "acl", "create", "--allow-principal", "alice", "--topic",
               "alice-topic", "--operation", "all", "--wait")
    login = ["-X", "user=alice", "-X", "pass=alice-new-pass", "-X", "sasl.mechanism=scram-sha-512"]
    secured.ok(*login, "topic", "produce", "alice-topic", "--delivery-timeout", "20s",
               stdin="from alice\n", timeout=60)
    got = secured.ok(*login, "topic", "consume", "alice-topic", "-o", ":end", "-f", "%v\\n",
                     timeout=60)
    assert got.stdout == "from alice\n"
    # A wrong password ends the produce at once, naming the login.
    p = secured.fails(1, "-X", "user=alice", "-X", "pass=nope", "-X",
                      "sasl.mechanism=SCRAM-SHA-512", "topic", "produce", "alice-topic",
                      stdin="x\n", timeout=60)
    assert 'SASL authentication as "alice" (SCRAM-SHA-512) failed' in p.stderr, p.stderr
    assert p.elapsed < 30
    p = secured.fails(2, "-X", "sasl.mechanism=GSSAPI", "topic", "list")
    assert "sasl.mechanism" in p.stderr

    users = secured.json("security", "user", "list")
    assert {"admin", "alice", "walt"} <= set(users) and users == sorted(users)
    assert secured.ok("security", "user", "list").stdout.splitlines()[0].strip() == "USERNAME"
    secured.fails(2, "security", "user", "create", "x", "--mechanism", "md5")
    secured.ok("security", "user", "delete", "walt")
    assert "walt" not in secured.json("security", "user", "list")
    p = secured.fails(1, "security", "user", "delete", "walt")
    assert 'user "walt"' in p.stderr


# --------------------------------------------------------------------------
# Roles.


def test_role_lifecycle(secured: Fjord):
    assert secured.ok("security", "role", "create", "ops").stdout == 'Created role "ops".\n'
    added = secured.json("security", "role", "assign", "ops", "--principal", "erin,User:frank")
    assert added["members"] == ["User:erin", "User:frank"]
    secured.ok("security", "acl", "create", "--allow-role", "ops", "--topic", "role-t",
               "--operation", "read")

    d = secured.json("security", "role", "describe", "ops")
    assert d["members"] == ["User:erin", "User:frank"]
    assert [(b["principal"], b["resource_name"], b["operation"]) for b in d["permissions"]] == \
        [("Role:ops", "role-t", "READ")]
    text = secured.ok("security", "role", "describe", "ops").stdout
    assert "PERMISSIONS (1)" in text and "MEMBERS (2)" in text

    check = secured.json("security", "acl", "check", "--principal", "erin", "--operation",
                         "read", "--topic", "role-t")
    assert check["allowed"] is True and check["via_role"] == "ops"
    assert [r["name"] for r in secured.json("security", "role", "list", "--principal",
                                            "erin")] == ["ops"]

    secured.ok("security", "role", "unassign", "ops", "--principal", "frank")
    assert secured.json("security", "role", "describe", "ops")["members"] == ["User:erin"]
    assert secured.json("security", "acl", "check", "--principal", "frank", "--operation",
                        "read", "--topic", "role-t")["allowed"] is False

    p = secured.fails(2, "security", "role", "delete", "ops")
    assert "stdin is not a terminal" in p.stderr
    gone = secured.json("security", "role", "delete", "ops", "--no-confirm")
    assert len(gone["deleted_acls"]) == 1
    assert acl_rows(secured, "--allow-role", "ops") == []
    assert "ops" not in [r["name"] for r in secured.json("security", "role", "list")]
    secured.fails(1, "security", "role", "describe", "ops")


# --------------------------------------------------------------------------
# Every security command's --format help (no cluster needed).

FORMAT_HELP_ARGS = {
    "acl create": [], "acl list": [], "acl ls": [], "acl describe": [], "acl delete": [],
    "acl check": ["--principal", "a", "--operation", "read", "--topic", "t"],
    "user create": ["u"], "user delete": ["u"], "user list": [], "user ls": [],
    "user update": ["u", "--new-password", "x", "--mechanism", "scram-sha-256"],
}
for _role in ("role", "access", "roles"):
    FORMAT_HELP_ARGS.update({f"{_role} {v}": ["r"] for v in ("create", "delete", "describe",
                                                              "info")})
    FORMAT_HELP_ARGS.update({f"{_role} {v}": [] for v in ("list", "ls")})
    FORMAT_HELP_ARGS.update({f"{_role} {v}": ["r", "--principal", "a"]
                             for v in ("assign", "add", "unassign", "remove")})


def test_format_help_on_every_security_command(tmp_path: Path):
    f = Fjord(tmp_path / "home")
    zsh = f.ok("completion", "zsh").stdout
    paths = set(re.findall(r"\('fjord security ([a-z -]+)'\)", zsh))
    leaves = {p for p in paths if " " in p}  # group paths ("acl", "user") have no space
    assert leaves == set(FORMAT_HELP_ARGS), "FORMAT_HELP_ARGS is out of date"
    f.env["FJORD_CONTROLLERS"] = "127.0.0.1:1"  # nothing may be contacted
    for root in ("security", "sec"):
        for command, args in FORMAT_HELP_ARGS.items():
            p = f.run(root, *command.split(), *args, "--format", "help", timeout=30)
            assert p.returncode == 0 and p.stdout.strip() and not p.stderr, (command, p.stderr)
    assert not f.profile_file.exists()


# --------------------------------------------------------------------------
# Purge removes everything a secured start created (last: it ends the cluster).


def test_purge_removes_the_secured_cluster_and_its_ca(secured: Fjord):
    assert (secured.state / "tls" / "ca.key").exists()
    secured.ok("dev", "purge", "--timeout", "15s", timeout=60)
    assert not secured.state.exists(), sorted(p.name for p in secured.state.iterdir())
