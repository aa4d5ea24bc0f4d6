"""The fjord CLI's local cluster, profiles and settings, end to end through the
built binary: `fjord dev start|status|stop|purge` running real fjord-controller
and fjord-broker processes (reached with kcat), `fjord profile ...` on a private profile file, the settings
precedence (flags > -X > FJORD_* > profile > defaults) observed through which
address a failing command names, the usage-error contract (exit 2), and the
generated shell completion.

Self-contained: it runs `fjord` as a subprocess with HOME and the XDG
directories pointed into pytest's tmp dir, so no profile or dev cluster of
the machine's user is read or touched. Every dev cluster a test starts is
purged in teardown, pass or fail, and as a last resort any member or broker
still running is SIGKILLed by its recorded pid, after checking
/proc/PID/cmdline names that process's config file (nothing else is ever
signalled).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("FJORD_BUILD_DIR", REPO_ROOT / "build")).resolve()
FJORD = BUILD_DIR / "bin" / "fjord"
CONTROLLER = BUILD_DIR / "bin" / "fjord-controller"
BROKER = BUILD_DIR / "bin" / "fjord-broker"

# How long a failing command may take when globals.retry_timeout is 1s: the
# retry budget, one command timeout, and process start-up with slack.
FAIL_FAST_S = 8.0


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def recorded_pids(state: Path, kind: str = "controller") -> dict[int, int]:
    pids = {}
    for pid_file in state.glob(f"{kind}-*/pid"):
        try:
            pids[int(pid_file.parent.name.split("-")[1])] = int(pid_file.read_text().strip())
        except (ValueError, OSError):
            pass
    return pids


def is_member_process(pid: int, config: Path, kind: str = "controller") -> bool:
    """Mirrors the CLI's own check: a live fjord-<kind> run with `config`."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat[stat.rindex(")") + 2] in "ZX":
            return False
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError, IndexError):
        return False
    return (bool(args) and Path(args[0].decode()).name == f"fjord-{kind}"
            and str(config).encode() in args)


def live_members(state: Path, kind: str = "controller") -> dict[int, int]:
    return {i: pid for i, pid in recorded_pids(state, kind).items()
            if is_member_process(pid, state / f"{kind}-{i}" / f"{kind}.yaml", kind)}


def live_brokers(state: Path) -> dict[int, int]:
    return live_members(state, "broker")


def kcat(*args: str, stdin: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(["kcat", *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout)


class Fjord:
    """Runs the built fjord with a private HOME and XDG directories."""

    def __init__(self, home: Path):
        self.home = home
        self.config_home = home / "config"
        self.state_home = home / "state"
        self.state = self.state_home / "fjord" / "dev"
        self.profile_file = self.config_home / "fjord" / "fjord.yaml"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("FJORD_", "XDG_"))}
        self.env.update(HOME=str(home), XDG_CONFIG_HOME=str(self.config_home),
                        XDG_STATE_HOME=str(self.state_home))
        home.mkdir(parents=True, exist_ok=True)

    def run(self, *args: str, env: dict | None = None, timeout: float = 90):
        full_env = dict(self.env, **(env or {}))
        t0 = time.monotonic()
        p = subprocess.run([str(FJORD), *args], capture_output=True, text=True, env=full_env,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        p.elapsed = time.monotonic() - t0  # type: ignore[attr-defined]
        return p

    def ok(self, *args: str, **kw) -> subprocess.CompletedProcess:
        p = self.run(*args, **kw)
        assert p.returncode == 0, (f"fjord {' '.join(args)}: rc {p.returncode}\n"
                                   f"{p.stdout}\n{p.stderr}")
        return p

    def json(self, *args: str, **kw):
        return json.loads(self.ok(*args, "--format", "json", **kw).stdout)

    def cleanup(self) -> None:
        """Purges the dev cluster; SIGKILLs any process that survives that."""
        if self.state.exists():
            try:
                self.run("dev", "purge", "--timeout", "15s", timeout=60)
            except subprocess.TimeoutExpired:
                pass
            for kind in ("broker", "controller"):
                for pid in live_members(self.state, kind).values():
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    """One dev cluster (3 controllers, 1 broker) for the read-mostly tests of
    this module."""
    f = Fjord(tmp_path_factory.mktemp("dev-home"))
    try:
        p = f.run("dev", "start", "-n", "3", "--timeout", "60s")
        assert p.returncode == 0, f"dev start failed:\n{p.stdout}\n{p.stderr}"
        f.start_output = p.stdout  # type: ignore[attr-defined]
        yield f
    finally:
        f.cleanup()


@pytest.fixture
def fjord(tmp_path) -> Fjord:
    f = Fjord(tmp_path / "home")
    yield f
    f.cleanup()


@pytest.fixture(scope="module", autouse=True)
def _fjord_built():
    for b in (FJORD, CONTROLLER, BROKER):
        if not b.is_file():
            pytest.fail(f"{b} not found: ninja -C {BUILD_DIR} fjord fjord-controller "
                        "fjord-broker", pytrace=False)


# --------------------------------------------------------------------------
# The dev cluster.


def test_dev_start_selects_profile_and_serves(dev: Fjord):
    out = dev.start_output  # type: ignore[attr-defined]
    assert "Started 3 controllers and 1 broker" in out
    assert "fjord topic list" in out  # says how to reach it
    kafka = dev.json("dev", "status")["brokers"][0]["kafka"]
    assert f"kcat -b {kafka} -L" in out  # ... and Kafka

    assert dev.ok("profile", "current").stdout == "dev\n"
    assert dev.profile_file.is_file()
    assert (dev.profile_file.stat().st_mode & 0o777) == 0o600

    st = dev.json("controller", "status")
    assert st["leader_id"] != 0
    assert st["cluster_uuid"]
    voters = [m for m in st["members"] if m["voter"]]
    assert len(voters) == 3
    assert sum(m["leader"] for m in st["members"]) == 1
    assert {m["id"] for m in st["members"]} == {1, 2, 3}

    assert dev.json("topic", "list") == []
    assert dev.ok("topic", "list").stdout.splitlines()[0].split() == ["NAME", "PARTITIONS",
                                                                      "REPLICAS"]

    # The profile names exactly the members' API addresses.
    prof = dev.json("profile", "print")
    apis = ",".join(m["api_address"] for m in sorted(st["members"], key=lambda m: m["id"]))
    assert prof["settings"]["controllers"] == apis
    assert prof["settings"]["brokers"] == kafka


def test_dev_status_and_state_layout(dev: Fjord):
    st = dev.json("dev", "status")
    assert st["running"] is True
    assert st["leader_id"] != 0
    assert len(st["members"]) == 3
    roles = sorted(m["role"] for m in st["members"])
    assert roles == ["follower", "follower", "leader"]
    ports = set()
    for m in st["members"]:
        assert m["alive"] is True
        assert is_member_process(m["pid"], dev.state / f"controller-{m['id']}" / "controller.yaml")
        for k in ("api", "peer", "metrics"):
            ports.add(m[k])
    [b] = st["brokers"]
    assert b["id"] == 1 and b["alive"] is True and b["ready"] is True
    assert is_member_process(b["pid"], dev.state / "broker-1" / "broker.yaml", "broker")
    assert b["kafka"].startswith("127.0.0.1:") and st["bootstrap_servers"] == b["kafka"]
    ports |= {b["kafka"], b["metrics"]}
    assert len(ports) == 11  # no port shared

    assert (dev.state / "cluster.json").is_file()
    for i in (1, 2, 3):
        d = dev.state / f"controller-{i}"
        assert (d / "controller.yaml").is_file() and (d / "log").is_file()
        assert (d / "data").is_dir()
    d = dev.state / "broker-1"
    assert (d / "broker.yaml").is_file() and (d / "log").is_file() and (d / "data").is_dir()
    assert "broker 1 ready" in (d / "log").read_text()
    recorded = json.loads((dev.state / "cluster.json").read_text())["brokers"]
    assert recorded == [{"id": 1, "kafka": b["kafka"], "metrics": b["metrics"],
                         "pid_file": str(d / "pid")}]
    text = dev.ok("dev", "status").stdout
    assert "running" in text
    broker_rows = text.split("brokers:\n")[1].splitlines()
    assert broker_rows[0].split() == ["ID", "PID", "ALIVE", "KAFKA", "METRICS", "READY"]
    assert broker_rows[1].split() == ["1", str(b["pid"]), "yes", b["kafka"], b["metrics"], "yes"]


def test_dev_broker_serves_kafka(dev: Fjord):
    kafka = dev.json("dev", "status")["brokers"][0]["kafka"]
    md = kcat("-b", kafka, "-L")
    assert md.returncode == 0, md.stderr
    assert f"broker 1 at {kafka}" in md.stdout


def test_dev_start_again_is_a_no_op(dev: Fjord):
    before = live_members(dev.state)
    p = dev.ok("dev", "start")
    assert "already running" in p.stdout
    assert live_members(dev.state) == before
    # A different size is refused rather than silently ignored.
    p = dev.run("dev", "start", "-n", "5")
    assert p.returncode == 1 and "has 3 controllers, not 5" in p.stderr
    p = dev.run("dev", "start", "--brokers", "2")
    assert p.returncode == 1 and "has 1 broker, not 2" in p.stderr
    assert live_members(dev.state) == before and len(live_brokers(dev.state)) == 1


# --------------------------------------------------------------------------
# Settings precedence, observed through which address a failure names.


def test_precedence_profile_env_x(dev: Fjord):
    good = dev.json("profile", "print")["settings"]["controllers"]
    bad_profile, bad_env, bad_x = (f"127.0.0.1:{closed_port()}" for _ in range(3))
    fast = ["-X", "globals.retry_timeout=1s", "-X", "globals.command_timeout=2s"]
    dev.ok("profile", "create", "broken", "-s", f"controllers={bad_profile}")
    try:
        # Profile only: its (bad) address is used and named.
        p = dev.run(*fast, "topic", "list")
        assert p.returncode == 1, p.stderr
        assert bad_profile in p.stderr
        assert p.elapsed < FAIL_FAST_S

        # The environment overrides the profile: good address, success.
        dev.ok(*fast, "topic", "list", env={"FJORD_CONTROLLERS": good})

        # -X overrides the environment: its bad address is named.
        p = dev.run(*fast, "-X", f"controllers={bad_x}", "topic", "list",
                    env={"FJORD_CONTROLLERS": good})
        assert p.returncode == 1
        assert bad_x in p.stderr and good not in p.stderr
        assert p.elapsed < FAIL_FAST_S

        # A bad environment value is overridden by a good -X.
        dev.ok(*fast, "-X", f"controllers={good}", "topic", "list",
               env={"FJORD_CONTROLLERS": bad_env})
        p = dev.run(*fast, "topic", "list", env={"FJORD_CONTROLLERS": bad_env})
        assert p.returncode == 1 and bad_env in p.stderr and bad_profile not in p.stderr

        # An empty variable counts as unset: the profile's address again.
        p = dev.run(*fast, "topic", "list", env={"FJORD_CONTROLLERS": ""})
        assert p.returncode == 1 and bad_profile in p.stderr

        # --profile and FJORD_PROFILE pick another profile for one command.
        dev.ok(*fast, "--profile", "dev", "topic", "list")
        dev.ok(*fast, "topic", "list", env={"FJORD_PROFILE": "dev"})
        p = dev.run(*fast, "--profile", "broken", "topic", "list", env={"FJORD_PROFILE": "dev"})
        assert p.returncode == 1 and bad_profile in p.stderr

        # -v names each setting's source.
        p = dev.run("-v", *fast, "topic", "list", env={"FJORD_CONTROLLERS": good})
        assert p.returncode == 0
        assert f"setting controllers = {good} (from environment FJORD_CONTROLLERS)" in p.stderr
        assert "setting globals.retry_timeout = 1s (from -X)" in p.stderr
        assert "profile in effect: broken (from current_profile)" in p.stderr
    finally:
        dev.ok("profile", "use", "dev")
        dev.ok("profile", "delete", "broken")


def test_settings_usage_errors(dev: Fjord):
    cases = [
        (["-X", "controlers=127.0.0.1:1"], "unknown key \"controlers\""),
        (["-X", "controllers"], "expected key=value"),
        (["-X", "=x"], "expected key=value"),
        (["-X", "globals.retry_timeout=soon"], "\"soon\" is not a duration"),
        (["-X", "globals.command_timeout=0s"], "must be more than 0"),
        (["-X", "controllers=nohostport"], "is not host:port"),
        (["-X", "tls.enabled=maybe"], "is not a boolean"),
        (["-X", "sasl.mechanism=GSSAPI"], "GSSAPI"),
        (["--profile", "nosuch"], "no such profile"),
        (["--format", "xml"], "--format \"xml\" not supported"),
    ]
    for args, needle in cases:
        p = dev.run(*args, "topic", "list")
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert needle in p.stderr, (args, p.stderr)
        assert p.stdout == ""
    p = dev.run("topic", "list", env={"FJORD_GLOBALS_RETRY_TIMEOUT": "1x"})
    assert p.returncode == 2 and "environment FJORD_GLOBALS_RETRY_TIMEOUT" in p.stderr
    # Pending keys are accepted (validated, stored, not used yet).
    dev.ok("-X", "brokers=127.0.0.1:9092", "-X", "tls.enabled=false", "-X", "user=u",
           "-X", "pass=p", "-X", "sasl.mechanism=scram-sha-256", "topic", "list")


def test_unreachable_controllers_fail_fast_with_a_clear_message(fjord: Fjord):
    addr = f"127.0.0.1:{closed_port()}"
    p = fjord.run("-X", f"controllers={addr}", "-X", "globals.retry_timeout=1s",
                  "controller", "status")
    assert p.returncode == 1
    assert p.stderr.startswith("fjord: ") and addr in p.stderr
    assert "unavailable" in p.stderr
    assert p.elapsed < FAIL_FAST_S, p.elapsed
    # Several controllers: each one's answer is named.
    other = f"127.0.0.1:{closed_port()}"
    p = fjord.run("-X", f"controllers={addr},{other}", "-X", "globals.retry_timeout=1s",
                  "topic", "list")
    assert p.returncode == 1 and addr in p.stderr and other in p.stderr
    assert p.elapsed < FAIL_FAST_S


def test_x_help_and_root_help(fjord: Fjord):
    for form in (["-X", "help"], ["-Xhelp"], ["--config-opt=help"]):
        p = fjord.ok(*form)
        assert "FJORD_GLOBALS_RETRY_TIMEOUT" in p.stdout and "FJORD_ADMIN_TLS_CA" in p.stdout
        assert "admin.tls.* the controllers' API" in p.stdout
    listing = fjord.ok("-X", "list").stdout.split()
    assert "controllers=127.0.0.1:9644" in listing and "globals.command_timeout=30s" in listing
    h = fjord.ok("--help").stdout
    assert "Exit codes:" in h and "2 usage error" in h
    assert "FJORD_CONTROLLERS" in h and "profile > defaults" in h


# --------------------------------------------------------------------------
# Profiles.


def test_profile_commands(fjord: Fjord):
    cfg = fjord.profile_file
    assert fjord.ok("profile", "current").stdout == ""
    assert fjord.json("profile", "current")["name"] is None
    assert fjord.json("profile", "list") == []

    p = fjord.ok("profile", "create", "a", "--set", "controllers=h1:1", "-s",
                 "globals.retry_timeout=5s", "-d", "first")
    assert "Created and switched to profile \"a\"" in p.stdout
    assert fjord.ok("profile", "current").stdout == "a\n"
    fjord.ok("profile", "create", "b", "--from-profile", "a", "-s", "user=bob")
    assert fjord.ok("profile", "current").stdout == "b\n"  # create switches
    b = fjord.json("profile", "print", "b")
    assert b["settings"] == {"controllers": "h1:1", "globals.retry_timeout": "5s", "user": "bob"}

    rows = fjord.ok("profile", "list").stdout.splitlines()
    assert rows[0].split() == ["NAME", "DESCRIPTION"]
    assert rows[1].split() == ["a", "first"] and rows[2].split() == ["b*"]
    listed = fjord.json("profile", "list")
    assert [(x["name"], x["current"]) for x in listed] == [("a", False), ("b", True)]
    assert 'name: "a"' in fjord.ok("profile", "list", "--format", "yaml").stdout

    fjord.ok("profile", "use", "a")
    assert fjord.ok("profile", "current").stdout == "a\n"
    fjord.ok("profile", "set", "controllers=h2:2,h3:3", "pass=s3cret", "globals.retry_timeout=")
    a = fjord.json("profile", "print")
    assert a["settings"] == {"controllers": "h2:2,h3:3", "pass": "(set)"}
    assert "s3cret" in cfg.read_text()  # stored (mode 0600), never printed
    assert (cfg.stat().st_mode & 0o777) == 0o600

    # FJORD_PROFILE and --profile say which profile is in effect.
    cur = fjord.json("profile", "current", env={"FJORD_PROFILE": "b"})
    assert cur == {"name": "b", "source": "FJORD_PROFILE", "file": str(cfg)}
    assert fjord.ok("--profile", "b", "profile", "current").stdout == "b\n"

    # Errors: 1 for what cannot be done, 2 for usage; nothing written on error.
    before = cfg.read_text()
    for args, rc, needle in [
        (["profile", "use", "zzz"], 1, "profile \"zzz\" not found"),
        (["profile", "delete", "zzz"], 1, "not found"),
        (["profile", "create", "a"], 1, "already exists"),
        (["profile", "create", "bad name"], 2, "is not a profile name"),
        (["profile", "create", "c", "-s", "nokey=1"], 2, "unknown key \"nokey\""),
        (["profile", "create", "c", "-s", "controllers"], 2, "expected key=value"),
        (["profile", "set", "globals.command_timeout=never"], 2, "is not a duration"),
        (["profile", "set", "wat=1"], 2, "unknown key \"wat\""),
        (["profile", "create", "c", "--from-profile", "zzz"], 1, "not found"),
    ]:
        p = fjord.run(*args)
        assert p.returncode == rc, (args, p.returncode, p.stderr)
        assert needle in p.stderr, (args, p.stderr)
    assert cfg.read_text() == before

    p = fjord.ok("profile", "delete", "a")
    assert "It was the current profile" in p.stdout
    assert fjord.ok("profile", "current").stdout == ""
    p = fjord.run("profile", "set", "user=x")
    assert p.returncode == 1 and "no profile in effect" in p.stderr
    assert [x["name"] for x in fjord.json("profile", "list")] == ["b"]


def test_profile_file_location_and_errors(fjord: Fjord, tmp_path: Path):
    # Without XDG_CONFIG_HOME the file is ~/.config/fjord/fjord.yaml.
    no_xdg = {"XDG_CONFIG_HOME": ""}
    fjord.ok("profile", "create", "home", env=no_xdg)
    assert (fjord.home / ".config" / "fjord" / "fjord.yaml").is_file()

    # --config and FJORD_CONFIG point elsewhere; --config wins.
    elsewhere = tmp_path / "other.yaml"
    third = tmp_path / "third.yaml"
    fjord.ok("--config", str(elsewhere), "profile", "create", "x")
    assert "name: x" in elsewhere.read_text()
    assert fjord.ok("profile", "current", env={"FJORD_CONFIG": str(elsewhere)}).stdout == "x\n"
    fjord.ok("--config", str(third), "profile", "create", "y",
             env={"FJORD_CONFIG": str(elsewhere)})
    assert "name: y" in third.read_text() and "name: y" not in elsewhere.read_text()

    # A broken file: every command that needs settings refuses, naming file,
    # key and line; exit 2.
    broken = tmp_path / "broken.yaml"
    broken.write_text("current_profile: p\nprofiles:\n  - name: p\n    settings:\n"
                      "      controllers: 127.0.0.1:9644\n      colour: blue\n")
    p = fjord.run("--config", str(broken), "topic", "list")
    assert p.returncode == 2
    assert f"{broken}: profiles[p].settings.colour: unknown key \"colour\"" in p.stderr
    assert "(line 6)" in p.stderr
    broken.write_text("profiles: [\n")
    p = fjord.run("--config", str(broken), "profile", "list")
    assert p.returncode == 2 and "not valid YAML" in p.stderr and str(broken) in p.stderr


# --------------------------------------------------------------------------
# Lifecycle: stop, restart, purge (its own cluster; the module's one stays up).


@pytest.mark.timeout(180)
def test_dev_lifecycle_stop_restart_purge(fjord: Fjord):
    p = fjord.run("dev", "start", "-n", "3", "--timeout", "60s")
    assert p.returncode == 0, p.stderr
    pids = live_members(fjord.state)
    assert len(pids) == 3
    st = fjord.json("dev", "status")
    uuid = st["cluster_uuid"]
    kafka = st["brokers"][0]["kafka"]
    broker_pid = live_brokers(fjord.state)[1]

    # Data in the broker, to find again after a stop and restart.
    fjord.ok("topic", "create", "kept", "-p", "1", "--wait")
    lines = ["first", "second", "third"]
    prod = kcat("-b", kafka, "-P", "-t", "kept", stdin="\n".join(lines) + "\n")
    assert prod.returncode == 0, prod.stderr

    # A member down: status says so and exits 1; start brings back just it.
    os.kill(pids[2], signal.SIGTERM)
    deadline = time.monotonic() + 15
    while 2 in live_members(fjord.state) and time.monotonic() < deadline:
        time.sleep(0.05)
    p = fjord.run("dev", "status", "--format", "json")
    assert p.returncode == 1
    st = json.loads(p.stdout)
    assert st["running"] is False
    assert [m["alive"] for m in st["members"]] == [True, False, True]
    p = fjord.ok("dev", "start")
    assert "Restarted 1 controller in" in p.stdout
    now = live_members(fjord.state)
    assert now[1] == pids[1] and now[3] == pids[3] and now[2] != pids[2]
    assert live_brokers(fjord.state) == {1: broker_pid}

    # The broker down: likewise.
    os.kill(broker_pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while live_brokers(fjord.state) and time.monotonic() < deadline:
        time.sleep(0.05)
    p = fjord.run("dev", "status", "--format", "json")
    assert p.returncode == 1
    st = json.loads(p.stdout)
    assert st["running"] is False and st["brokers"][0]["alive"] is False
    assert "a broker is down" in fjord.run("dev", "status").stdout
    p = fjord.ok("dev", "start")
    assert "Restarted 1 broker in" in p.stdout
    assert live_members(fjord.state) == now
    broker_pid = live_brokers(fjord.state)[1]

    # stop: every process gone (the broker first), state kept; a second stop
    # is a no-op.
    p = fjord.ok("dev", "stop")
    assert p.stdout.count("stopped after") == 4
    assert p.stdout.startswith(f"broker 1 (pid {broker_pid}): stopped after")
    assert live_members(fjord.state) == {} and live_brokers(fjord.state) == {}
    for pid in now.values():
        assert not is_member_process(pid, fjord.state / "controller-1" / "controller.yaml")
    assert (fjord.state / "cluster.json").is_file()
    assert (fjord.state / "broker-1" / "data").is_dir()
    assert "not running" in fjord.ok("dev", "stop").stdout
    p = fjord.run("dev", "status")
    assert p.returncode == 1 and "stopped" in p.stdout

    # start after stop: same cluster (same uuid and ports, data kept), and
    # the broker still has the records produced before the stop.
    p = fjord.ok("dev", "start")
    assert "Restarted 3 controllers and 1 broker" in p.stdout
    st = fjord.json("dev", "status")
    assert st["cluster_uuid"] == uuid and st["brokers"][0]["kafka"] == kafka
    assert [t["name"] for t in fjord.json("topic", "list")] == ["kept"]
    cons = kcat("-b", kafka, "-C", "-t", "kept", "-o", "beginning", "-e", "-c", "3")
    assert cons.returncode == 0, cons.stderr
    assert cons.stdout.splitlines() == lines

    # purge: stops and removes the state directory and the dev profile.
    p = fjord.ok("dev", "purge")
    assert "Removed" in p.stdout and "broker 1 (pid" in p.stdout
    assert not (fjord.state / "broker-1").exists()
    assert not fjord.state.exists()
    assert live_members(fjord.state) == {} and live_brokers(fjord.state) == {}
    assert fjord.json("profile", "list") == []
    p = fjord.run("dev", "status")
    assert p.returncode == 1 and "No dev cluster" in p.stdout
    assert "No dev cluster" in fjord.ok("dev", "purge").stdout


def test_dev_start_failure_reports_log_tail_and_cleans_up(fjord: Fjord, tmp_path: Path):
    fake = tmp_path / "fjord-controller"
    fake.write_text("#!/bin/sh\necho 'fake controller: refusing to start' >&2\nexit 3\n")
    fake.chmod(0o755)
    state = tmp_path / "state-fail"
    p = fjord.run("dev", "start", "--state-dir", str(state),
                  env={"FJORD_CONTROLLER_BIN": str(fake)})
    assert p.returncode == 1
    assert "exited during start-up (exit status 3)" in p.stderr
    assert "fake controller: refusing to start" in p.stderr
    assert not fjord.profile_file.exists()  # no profile for a cluster that is not up
    assert fjord.ok("dev", "purge", "--state-dir", str(state)).returncode == 0
    assert not state.exists()

    # A broker that fails: its log tail, and the controllers this start
    # started are stopped again.
    fake_broker = tmp_path / "fjord-broker"
    fake_broker.write_text("#!/bin/sh\necho 'fake broker: no thanks' >&2\nexit 4\n")
    fake_broker.chmod(0o755)
    state = tmp_path / "state-broker-fail"
    p = fjord.run("dev", "start", "-n", "1", "--state-dir", str(state), "--timeout", "60s",
                  env={"FJORD_BROKER_BIN": str(fake_broker)})
    assert p.returncode == 1
    assert "broker 1 exited during start-up (exit status 4)" in p.stderr
    assert "broker 1 log" in p.stderr and "fake broker: no thanks" in p.stderr
    assert live_members(state) == {} and live_brokers(state) == {}
    assert fjord.json("profile", "list") == []  # (the purge above wrote an empty file)
    assert fjord.ok("dev", "purge", "--state-dir", str(state)).returncode == 0
    assert not state.exists()

    p = fjord.run("dev", "start", "-n", "8")
    assert p.returncode == 2
    p = fjord.run("dev", "start", "--brokers", "10")
    assert p.returncode == 2
    p = fjord.run("dev", "start", "--timeout", "soon")
    assert p.returncode == 2 and "not a duration" in p.stderr
    p = fjord.run("dev", "start", env={"FJORD_CONTROLLER_BIN": str(tmp_path / "nope")})
    assert p.returncode == 1 and "FJORD_CONTROLLER_BIN" in p.stderr
    p = fjord.run("dev", "start", env={"FJORD_BROKER_BIN": str(tmp_path / "nope")})
    assert p.returncode == 1 and "FJORD_BROKER_BIN" in p.stderr
    assert live_members(fjord.state) == {}  # nothing started


def test_dev_start_without_brokers(fjord: Fjord):
    p = fjord.run("dev", "start", "-n", "1", "--brokers", "0", "--timeout", "60s")
    assert p.returncode == 0, p.stderr
    assert "Started 1 controller in" in p.stdout and "kcat" not in p.stdout
    st = fjord.json("dev", "status")
    assert st["running"] is True and st["brokers"] == [] and st["bootstrap_servers"] == ""
    assert "brokers: none" in fjord.ok("dev", "status").stdout
    assert not list(fjord.state.glob("broker-*"))
    assert "brokers" not in fjord.json("profile", "print")["settings"]
    p = fjord.run("dev", "start", "--brokers", "1")
    assert p.returncode == 1 and "has 0 brokers, not 1" in p.stderr
    assert fjord.ok("dev", "stop").stdout.count("stopped after") == 1


def test_dev_ports_fall_back_when_defaults_are_busy(dev: Fjord, fjord: Fjord):
    """A second dev cluster next to the module's: the defaults the first took
    (or anything else holds) are skipped for free ephemeral ports."""
    p = fjord.run("dev", "start", "-n", "1", "--timeout", "60s", "--no-profile")
    assert p.returncode == 0, p.stderr
    assert "export FJORD_CONTROLLERS=" in p.stdout
    assert not fjord.profile_file.exists()
    mine = fjord.json("dev", "status")
    theirs = dev.json("dev", "status")
    assert mine["members"][0]["api"] not in {m["api"] for m in theirs["members"]}
    # The broker's default ports (9092, 9093) are the first cluster's, if it got them.
    assert mine["brokers"][0]["kafka"] != theirs["brokers"][0]["kafka"]
    assert mine["brokers"][0]["ready"] is True


@pytest.mark.timeout(180)
def test_dev_named_cluster_beside_the_default(dev: Fjord):
    """`dev start --name dst`: an independent cluster beside the module's
    default one: its own state directory (dev-dst), ports from its own block
    (clear of the default's), and a profile "dst" that is written but not
    made current; status/stop/purge --name act on it alone."""
    named_state = dev.state_home / "fjord" / "dev-dst"
    try:
        p = dev.run("dev", "start", "--name", "dst", "-n", "1", "--timeout", "60s")
        assert p.returncode == 0, p.stderr
        assert 'Profile "dst" is written' in p.stdout and "current profile is unchanged" in p.stdout
        assert "fjord --profile dst topic list" in p.stdout
        assert "fjord dev stop --name dst" in p.stdout
        assert dev.ok("profile", "current").stdout == "dev\n"
        assert (named_state / "cluster.json").is_file()
        assert len(live_members(named_state)) == 1 and len(live_brokers(named_state)) == 1

        mine = dev.json("dev", "status", "--name", "dst")
        theirs = dev.json("dev", "status")
        assert mine["state_dir"] == str(named_state)
        assert mine["running"] is True and theirs["running"] is True
        assert mine["cluster_uuid"] != theirs["cluster_uuid"]
        ports = [m[k] for m in mine["members"] for k in ("api", "peer", "metrics")]
        ports += [mine["brokers"][0]["kafka"], mine["brokers"][0]["metrics"]]
        numbers = [int(str(x).rsplit(":", 1)[-1]) for x in ports]
        assert all(20000 <= n < 32000 for n in numbers), numbers  # the named block
        others = {str(m[k]) for m in theirs["members"] for k in ("api", "peer", "metrics")}
        assert not others & {str(x) for x in ports}

        # The profile reaches the named cluster; the current one the default.
        prof = dev.json("profile", "print", "dst")
        assert prof["settings"]["controllers"] == mine["controllers"]
        dev.ok("--profile", "dst", "topic", "create", "only-in-dst", "-p", "1")
        assert [t["name"] for t in dev.json("--profile", "dst", "topic", "list")] == ["only-in-dst"]
        assert "only-in-dst" not in [t["name"] for t in dev.json("topic", "list")]

        # Restart keeps its ports; a bad name is a usage error.
        assert "already running" in dev.ok("dev", "start", "--name", "dst").stdout
        for bad, needle in (("dev", "default cluster's profile"), ("a b", "--name")):
            p = dev.run("dev", "start", "--name", bad)
            assert p.returncode == 2 and needle in p.stderr, (bad, p.stderr)
        stopped = dev.ok("dev", "stop", "--name", "dst").stdout
        assert stopped.count("stopped after") == 2 and "--name dst" in stopped
        assert live_members(named_state) == {}
        assert dev.json("dev", "status")["running"] is True  # the default one is untouched
        p = dev.ok("dev", "start", "--name", "dst", "--timeout", "60s")
        assert "Restarted 1 controller and 1 broker" in p.stdout
        assert dev.json("dev", "status", "--name", "dst")["members"][0]["api"] == \
            mine["members"][0]["api"]

        p = dev.ok("dev", "purge", "--name", "dst")
        assert 'Deleted profile "dst"' in p.stdout
        assert not named_state.exists()
        assert [x["name"] for x in dev.json("profile", "list")] == ["dev"]
        assert dev.ok("profile", "current").stdout == "dev\n"
    finally:
        if named_state.exists():
            dev.run("dev", "purge", "--name", "dst", "--timeout", "15s", timeout=60)
            for kind in ("broker", "controller"):
                for pid in live_members(named_state, kind).values():
                    os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------
# Shell completion.


def bash_complete(fjord: Fjord, words: list[str]) -> list[str]:
    script = (f"source <({FJORD} completion bash)\n"
              f"COMP_WORDS=({' '.join(repr(w) for w in [str(FJORD), *words])})\n"
              f"COMP_CWORD={len(words)}\n"
              "_fjord\n"
              "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=fjord.env,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


def test_completion_scripts(fjord: Fjord):
    p = fjord.ok("completion", "bash")
    syntax = subprocess.run(["bash", "-n"], input=p.stdout, capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    assert set(bash_complete(fjord, ["pro"])) == {"profile"}
    assert {"topic", "controller", "dev", "profile", "completion", "--format", "-X"} <= set(
        bash_complete(fjord, [""]))
    assert set(bash_complete(fjord, ["dev", "st"])) == {"start", "stop", "status"}
    assert "--partitions" in bash_complete(fjord, ["topic", "create", "--"])
    assert "--state-dir" in bash_complete(fjord, ["dev", "start", "--"])
    assert set(bash_complete(fjord, ["--format", "j"])) == {"json"}
    assert "globals.retry_timeout=" in bash_complete(fjord, ["-X", "glo"])
    assert bash_complete(fjord, ["completion", "z"]) == ["zsh"]
    # Aliases complete too, and profile names come from `fjord profile list`.
    assert "ls" in bash_complete(fjord, ["topic", ""])
    fjord.ok("profile", "create", "alpha")
    fjord.ok("profile", "create", "beta")
    assert {"alpha", "beta"} <= set(bash_complete(fjord, ["profile", "use", ""]))
    assert set(bash_complete(fjord, ["--profile", "al"])) == {"alpha"}

    for shell in ("zsh", "fish"):
        text = fjord.ok("completion", shell).stdout
        flag = "-n" if shell == "zsh" else "--no-execute"
        r = subprocess.run([shell, flag], input=text, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    assert fjord.run("completion", "tcsh").returncode == 2
    assert fjord.run("completion", "bash", "--format", "json").returncode == 2

    # The same questions through zsh's and fish's own completion machinery.
    for complete in (zsh_complete, fish_complete):
        assert complete(fjord, ["dev", "st"]) == {"start", "stop", "status"}
        assert complete(fjord, ["--format", "j"]) == {"json"}
        assert {"--partitions", "--profile"} <= complete(fjord, ["topic", "create", "--p"])
        assert complete(fjord, ["completion", "z"]) == {"zsh"}
        assert {"alpha", "beta"} <= complete(fjord, ["profile", "use", ""])


def zsh_complete(fjord: Fjord, words: list[str]) -> set[str]:
    """Runs the zsh script's _fjord as compsys would, with _describe and
    compadd replaced by functions that print the candidates matching the
    prefix (zsh's own matcher does that filtering interactively)."""
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in ["fjord", *words])
    script = (
        "_describe() { local -a arr names; arr=(\"${(@P)${argv[-1]}}\"); "
        "names=(\"${arr[@]%%:*}\"); print -l -- ${(M)names:#${PREFIX}*} }\n"
        "compadd() { while [[ $1 != -- ]]; do shift; done; shift; "
        "print -l -- ${(M)@:#${PREFIX}*} }\n"
        "_files() { print -- '<files>' }\n"
        "compdef() { : }\n"
        f"fjord() {{ {FJORD} \"$@\" }}\n"
        f"source <({FJORD} completion zsh)\n"
        f"words=({quoted}); CURRENT={len(words) + 1}; PREFIX={quoted.split()[-1]}\n"
        "_fjord\n")
    p = subprocess.run(["zsh", "-f", "-c", script], capture_output=True, text=True,
                       env=fjord.env, timeout=30)
    assert p.returncode in (0, 1), p.stderr
    return set(p.stdout.split())


def fish_complete(fjord: Fjord, words: list[str]) -> set[str]:
    line = " ".join(["fjord", *words])
    script = (f"function fjord; {FJORD} $argv; end\n"
              f"{FJORD} completion fish | source\n"
              f"complete -C {shlex.quote(line)}\n")
    p = subprocess.run(["fish", "--no-config", "-c", script], capture_output=True, text=True,
                       env=fjord.env, timeout=30)
    assert p.returncode == 0, p.stderr
    return {ln.split("\t")[0] for ln in p.stdout.splitlines() if ln}


# --------------------------------------------------------------------------
# --format help on every command.

# Every leaf command (aliases too) with the arguments it requires.
FORMAT_HELP_ARGS = {
    "topic create": ["t"], "topic delete": ["t"], "topic alter-config": ["t", "--set", "a=b"],
    "topic add-partitions": ["t", "-n", "1"], "topic list": [], "topic ls": [],
    "topic describe": ["t"], "topic info": ["t"],
    "topic produce": ["t"], "topic consume": ["t"],
    "topic trim-prefix": ["t", "-o", "1"], "topic trim": ["t", "-o", "1"],
    "controller status": [],
    "controller members add": ["4", "--peer", "127.0.0.1:1", "--api", "127.0.0.1:2"],
    "controller members remove": ["4"], "controller transfer-leadership": [],
    "cluster info": [], "cluster status": [], "cluster metadata": [], "cluster health": [],
    "cluster config get": ["k"], "cluster config set": ["k=v"], "cluster config list": [],
    "cluster config export": [], "cluster config import": ["--filename", "/nonexistent.yaml"],
    "cluster config status": [],
    "cluster storage mount": ["t"], "cluster storage unmount": ["t"],
    "cluster storage list-mountable": [],
    "cluster storage list-mount": [], "cluster storage list-unmount": [],
    "cluster storage status-mount": ["1"], "cluster storage status-unmount": ["1"],
    "cluster storage cancel-mount": ["1"], "cluster storage cancel-unmount": ["1"],
    "cluster storage delete-mount": ["1"], "cluster storage delete-unmount": ["1"],
    "version": [],
    "profile create": ["p"], "profile use": ["p"], "profile list": [], "profile ls": [],
    "profile delete": ["p"], "profile rm": ["p"], "profile current": [],
    "profile set": ["controllers=127.0.0.1:1"], "profile print": [],
    "dev start": [], "dev stop": [], "dev status": [], "dev purge": [],
    "shadow config generate": [], "shadow create": ["-c", "/nonexistent.yaml"],
    "shadow list": [], "shadow describe": ["l"], "shadow status": ["l"], "shadow update": ["l"],
    "shadow failover": ["l", "--all"], "shadow delete": ["l"],
    "apply": ["-f", "/nonexistent.yaml"],
    "completion": ["bash"],
}
_SECURITY = {
    "acl create": [], "acl list": [], "acl ls": [], "acl describe": [], "acl delete": [],
    "acl check": ["--principal", "a", "--operation", "read", "--topic", "t"],
    "user create": ["u"], "user delete": ["u"], "user list": [], "user ls": [],
    "user update": ["u", "--new-password", "x", "--mechanism", "scram-sha-256"],
}
for _role in ("role", "access", "roles"):
    _SECURITY.update({f"{_role} {v}": ["r"] for v in ("create", "delete", "describe", "info")})
    _SECURITY.update({f"{_role} {v}": [] for v in ("list", "ls")})
    _SECURITY.update({f"{_role} {v}": ["r", "--principal", "a"]
                      for v in ("assign", "add", "unassign", "remove")})
for _root in ("security", "sec"):
    FORMAT_HELP_ARGS.update({f"{_root} {k}": v for k, v in _SECURITY.items()})


def leaf_commands(fjord: Fjord) -> set[str]:
    """The leaves of the command tree, read from the zsh completion script
    (one case per command path; a leaf offers no subcommands)."""
    text = fjord.ok("completion", "zsh").stdout
    leaves, path = set(), None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("('fjord") and line.endswith("')"):
            path = line[len("('fjord "):-2] if line != "('fjord')" else ""
        elif path is not None and line.startswith("cmds="):
            # `completion` offers its shell argument the way groups offer
            # subcommands.
            if line == "cmds=()" or path == "completion":
                leaves.add(path)
            path = None
    return leaves


def test_format_help_on_every_command(fjord: Fjord):
    """`--format help` prints the output schema and exits 0 without contacting
    the cluster (the controllers here are unreachable) or writing anything
    (no profile file, no dev state)."""
    assert leaf_commands(fjord) == set(FORMAT_HELP_ARGS), "FORMAT_HELP_ARGS is out of date"
    env = {"FJORD_CONTROLLERS": f"127.0.0.1:{closed_port()}"}
    for command, args in FORMAT_HELP_ARGS.items():
        p = fjord.run(*command.split(), *args, "--format", "help", env=env, timeout=30)
        assert p.returncode == 0, (command, p.stderr)
        assert p.stdout.strip() and not p.stderr, (command, p.stdout, p.stderr)
    assert not fjord.profile_file.exists()
    assert not fjord.state_home.exists()
