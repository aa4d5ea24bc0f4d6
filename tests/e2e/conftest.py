"""End-to-end harness: real fjord-controller processes on loopback, real gRPC.

Every process the harness starts is tracked by pid and stopped in fixture
teardown (and, as a last resort, at interpreter exit). Processes are also
started under `setpriv --pdeathsig SIGKILL`, so a pytest that dies abruptly
(SIGKILL, OOM) does not leave controllers behind. Nothing else is ever
signalled.

Environment:
  FJORD_BUILD_DIR   build directory holding bin/fjord-controller (default: <repo>/build)
  FJORD_E2E_REPORT  if set, measured values are appended there as JSON lines

Data dirs, configs and logs live in pytest's tmp dir (it keeps the last three
runs).
"""

from __future__ import annotations

import atexit
import json
import itertools
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("FJORD_BUILD_DIR", REPO_ROOT / "build")).resolve()
BINARY = BUILD_DIR / "bin" / "fjord-controller"

# Short Raft timings: one election timeout = TICK_MS * ELECTION_TICKS = 500 ms
# (the core randomises each member's timeout in [500, 1000) ms).
TICK_MS = 50
ELECTION_TICKS = 10
ELECTION_TIMEOUT_S = TICK_MS * ELECTION_TICKS / 1000.0
DEFAULT_TEST_TIMEOUT_S = 120

# --------------------------------------------------------------------------
# Stubs: generated once per session into a temp dir (never committed).


def _generate_stubs() -> str:
    out = tempfile.mkdtemp(prefix="fjord-e2e-stubs-")
    atexit.register(shutil.rmtree, out, True)
    proto_dir = REPO_ROOT / "proto"
    files = sorted(
        str(p.relative_to(proto_dir)) for p in (proto_dir / "fjord/controller/v1").glob("*.proto")
    ) + ["fjord/raft/v1/raft.proto"]
    cmd = [
        "/usr/bin/protoc",
        "-I",
        str(proto_dir),
        f"--python_out={out}",
        f"--grpc_out={out}",
        "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
        *files,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"protoc failed ({' '.join(cmd)}):\n{r.stderr}")
    return out


sys.path.insert(0, _generate_stubs())

import grpc  # noqa: E402

from fjord.controller.v1 import controller_service_pb2 as pb  # noqa: E402
from fjord.controller.v1 import controller_service_pb2_grpc as pb_grpc  # noqa: E402
from fjord.controller.v1 import metadata_pb2 as md  # noqa: E402

# --------------------------------------------------------------------------
# Process bookkeeping.

_ALL_PROCS: list[subprocess.Popen] = []
_ALL_PROCS_MU = threading.Lock()


# The client session Cluster.call gives write requests (controller_service.proto,
# Session): one client per test process, requests numbered in call order.
_CLIENT_ID = f"e2e-{os.getpid()}-{random.getrandbits(48):012x}"
_SEQ = itertools.count(1)


def _kill_leftovers() -> None:
    with _ALL_PROCS_MU:
        procs = list(_ALL_PROCS)
    for p in procs:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass


atexit.register(_kill_leftovers)

_PORTS_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A currently free loopback port, never the same one twice in a session."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _PORTS_HANDED_OUT:
            _PORTS_HANDED_OUT.add(port)
            return port
    raise RuntimeError("no free port")


def report(name: str, **values) -> None:
    """Prints a measured value and appends it to $FJORD_E2E_REPORT (JSON lines)."""
    rec = {"measure": name, **values, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    print(f"\n[fjord-e2e] {json.dumps(rec)}", flush=True)
    path = os.environ.get("FJORD_E2E_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")


def wait_until(pred: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Polls `pred` until it returns something truthy; fails naming `what`."""
    deadline = time.monotonic() + timeout
    last_exc: Optional[BaseException] = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except grpc.RpcError as e:  # a member not up yet, an election, ...
            last_exc = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc})" if last_exc else ""
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}{extra}")
        time.sleep(interval)


def rpc_code(e: grpc.RpcError) -> grpc.StatusCode:
    return e.code()  # type: ignore[attr-defined]


def trailing(e: grpc.RpcError) -> dict:
    try:
        return {k: v for k, v in (e.trailing_metadata() or ())}  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        return {}


# --------------------------------------------------------------------------
# Members and the cluster.


@dataclass
class Member:
    id: int
    api_port: int
    peer_port: int
    metrics_port: int
    data_dir: Path
    work_dir: Path
    initial: list  # initial_members entries (list of Member); [] for a joiner
    proc: Optional[subprocess.Popen] = None
    # Extra top-level YAML lines for the config (e.g. api_tls blocks), and the
    # channel credentials the harness's own stub uses (None: plaintext).
    extra_yaml: list = field(default_factory=list)
    credentials: Optional[grpc.ChannelCredentials] = None
    starts: int = 0
    log_paths: list = field(default_factory=list)
    _channel: Optional[grpc.Channel] = None
    _stub: Optional[pb_grpc.ControllerServiceStub] = None

    @property
    def api(self) -> str:
        return f"127.0.0.1:{self.api_port}"

    @property
    def peer(self) -> str:
        return f"127.0.0.1:{self.peer_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}"

    @property
    def config_path(self) -> Path:
        return self.work_dir / f"n{self.id}.yaml"

    @property
    def log_path(self) -> Path:
        return self.log_paths[-1]

    def member_proto(self) -> md.Member:
        return md.Member(id=self.id, peer_address=self.peer, api_address=self.api)

    def write_config(self, node_id: Optional[int] = None, data_dir: Optional[Path] = None,
                     path: Optional[Path] = None) -> Path:
        lines = [
            f"node_id: {node_id if node_id is not None else self.id}",
            f"data_dir: {data_dir if data_dir is not None else self.data_dir}",
            f"listen: {{api: {self.api}, peer: {self.peer}, metrics: 127.0.0.1:{self.metrics_port}}}",
        ]
        if self.initial:
            lines.append("initial_members:")
            for m in self.initial:
                lines.append(f"  - {{id: {m.id}, peer: {m.peer}, api: {m.api}}}")
        else:
            lines.append("initial_members: []")
        lines.append(f"raft: {{tick_ms: {TICK_MS}, election_ticks: {ELECTION_TICKS}}}")
        lines.append("log_level: info")
        lines.extend(self.extra_yaml)
        p = path or self.config_path
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return p

    # -- process control (only ever this member's own process, by pid)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait: bool = True) -> None:
        assert not self.running, f"member {self.id} is already running (pid {self.proc.pid})"
        self.write_config()
        self.starts += 1
        log = self.work_dir / f"n{self.id}.{self.starts}.log"
        self.log_paths.append(log)
        self.proc = spawn([str(BINARY), "--config", str(self.config_path)], log)
        self.close_channel()
        if wait:
            self.wait_listening()

    def wait_listening(self, timeout: float = 15.0) -> None:
        """Waits until the API port accepts connections, so that a client's
        first connect does not fail and leave its channel in reconnect backoff.
        Fails at once if the process exits."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"member {self.id} exited with {self.proc.returncode} "
                                     f"during start-up:\n{self.log_tail(20)}")
            try:
                with socket.create_connection(("127.0.0.1", self.api_port), timeout=0.2):
                    return
            except OSError:
                pass
            if time.monotonic() >= deadline:
                raise AssertionError(f"member {self.id} does not listen on {self.api} "
                                     f"after {timeout}s")
            time.sleep(0.01)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL (a crash); waits for the process to be gone."""
        if self.running:
            self.signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.close_channel()

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM (graceful); returns the exit status. SIGKILLs and fails on a hang."""
        assert self.proc is not None
        # Close our own channel first: an idle Python gRPC channel does not
        # read the server's GOAWAY, and the server's Shutdown then waits out
        # its 5 s grace period for that connection (a client artifact).
        self.close_channel()
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(
                    f"member {self.id} did not exit within {timeout}s of SIGTERM; killed it")
        self.close_channel()
        return self.proc.returncode

    def close_channel(self) -> None:
        if self._channel is not None:
            self._channel.close()
        self._channel = None
        self._stub = None

    def stub(self) -> pb_grpc.ControllerServiceStub:
        if self._stub is None:
            make = (grpc.insecure_channel if self.credentials is None else
                    lambda target, options: grpc.secure_channel(target, self.credentials, options))
            self._channel = make(self.api, options=[
                ("grpc.max_send_message_length", 64 << 20),
                ("grpc.max_receive_message_length", 64 << 20),
                # Reconnect quickly after a member restarts. (Not
                # grpc.min_reconnect_backoff_ms: that is the minimum connect
                # timeout, and a tiny one aborts handshakes.)
                ("grpc.initial_reconnect_backoff_ms", 50),
                ("grpc.max_reconnect_backoff_ms", 250),
            ])
            self._stub = pb_grpc.ControllerServiceStub(self._channel)
        return self._stub

    @property
    def channel(self) -> grpc.Channel:
        self.stub()
        return self._channel

    def status(self, timeout: float = 1.0) -> pb.StatusResponse:
        return self.stub().Status(pb.StatusRequest(), timeout=timeout)

    def http_get(self, path: str, timeout: float = 2.0) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.metrics_url + path, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def log_tail(self, lines: int = 40) -> str:
        out = []
        for p in self.log_paths[-2:]:
            try:
                text = p.read_text(errors="replace").splitlines()
            except OSError:
                continue
            out.append(f"--- {p} (last {lines} lines)")
            out.extend(text[-lines:])
        return "\n".join(out)


def spawn(argv: list, log_path: Path) -> subprocess.Popen:
    """Starts a process we own, stdout+stderr to `log_path`, killed if pytest dies."""
    with open(log_path, "ab") as log:
        p = subprocess.Popen(
            ["/usr/bin/setpriv", "--pdeathsig", "SIGKILL", "--", *argv],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            cwd=log_path.parent, start_new_session=True)
    with _ALL_PROCS_MU:
        _ALL_PROCS.append(p)
    return p


def run_to_exit(argv: list, log_path: Path, timeout: float = 15.0) -> tuple[int, str]:
    """Runs a process we own to completion (SIGKILLed after `timeout`);
    returns its exit status and output."""
    p = spawn(argv, log_path)
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
        raise AssertionError(f"{argv} still running after {timeout}s; killed it:\n"
                             f"{log_path.read_text(errors='replace')[-2000:]}")
    return rc, log_path.read_text(errors="replace")


class Cluster:
    """A set of controller members on loopback, in one test's tmp dir."""

    def __init__(self, root: Path):
        self.root = root
        self.members: dict[int, Member] = {}
        self._founders: list[Member] = []

    # -- membership of the harness (not of Raft)

    def add(self, ids: Iterable[int], founders: bool) -> list[Member]:
        new = []
        for i in ids:
            assert i not in self.members
            m = Member(id=i, api_port=free_port(), peer_port=free_port(),
                       metrics_port=free_port(), data_dir=self.root / f"n{i}" / "data",
                       work_dir=self.root / f"n{i}", initial=[])
            m.work_dir.mkdir(parents=True, exist_ok=True)
            self.members[i] = m
            new.append(m)
        if founders:
            self._founders.extend(new)
            for m in self._founders:
                m.initial = list(self._founders)
        return new

    def start(self, *ids: int) -> None:
        for i in ids or self.members:
            if not self.members[i].running:
                self.members[i].start()

    def kill(self, i: int) -> None:
        self.members[i].kill()

    def terminate(self, i: int, timeout: float = 15.0) -> int:
        return self.members[i].terminate(timeout)

    def restart(self, i: int) -> None:
        m = self.members[i]
        if m.running:
            m.terminate()
        m.start()

    def running(self) -> list[Member]:
        return [m for m in self.members.values() if m.running]

    def stop_all(self) -> None:
        """Teardown: SIGKILL whatever of ours still runs."""
        for m in self.members.values():
            try:
                m.kill()
            except Exception:  # noqa: BLE001
                pass

    # -- leadership

    def statuses(self, members: Optional[Iterable[Member]] = None,
                 timeout: float = 0.5) -> dict[int, pb.StatusResponse]:
        out = {}
        for m in members if members is not None else self.running():
            try:
                out[m.id] = m.status(timeout=timeout)
            except grpc.RpcError:
                pass
        return out

    def wait_for_leader(self, timeout: float = 10.0,
                        among: Optional[Iterable[int]] = None,
                        exclude: Iterable[int] = ()) -> Member:
        """Waits until every running member (or those in `among`) names the same
        leader, and that leader says it leads. Returns the leader's Member."""
        exclude = set(exclude)

        def check():
            ms = [self.members[i] for i in among] if among is not None else self.running()
            ms = [m for m in ms if m.running]
            sts = self.statuses(ms)
            if len(sts) != len(ms) or not sts:
                return None
            leaders = {s.leader_id for s in sts.values()}
            if len(leaders) != 1:
                return None
            lid = leaders.pop()
            if lid == 0 or lid in exclude or lid not in self.members:
                return None
            ls = sts.get(lid) or self.statuses([self.members[lid]]).get(lid)
            if ls is None or ls.role != "leader":
                return None
            return self.members[lid]

        return wait_until(check, timeout, "a leader all members agree on")

    def leader(self) -> Optional[Member]:
        """The member that currently says it leads (None if none does)."""
        for i, s in self.statuses().items():
            if s.role == "leader" and s.leader_id == i:
                return self.members[i]
        return None

    def member_by_api(self, address: str) -> Optional[Member]:
        for m in self.members.values():
            if m.api == address:
                return m
        return None

    # -- calls

    def client(self, m: Member | int) -> pb_grpc.ControllerServiceStub:
        if isinstance(m, int):
            m = self.members[m]
        return m.stub()

    def call(self, method: str, request, timeout: float = 15.0, per_call: float = 5.0,
             prefer: Optional[Member] = None):
        """Calls `method` until a member answers, following NOT_LEADER hints
        (UNAVAILABLE with fjord-leader-address) and trying other running
        members when one is unreachable (UNAVAILABLE). Other errors, including
        DEADLINE_EXCEEDED (the outcome is unknown), propagate.

        A write request gets a client session (as the CLI's do) unless it has
        one, so a retry is applied at most once, and "outcome unknown"
        (UNKNOWN: a forward that broke after the leader may have applied it)
        is retried too. Callers still treat only an answered OK as
        acknowledged."""
        session = None
        if "session" in request.DESCRIPTOR.fields_by_name and not getattr(
                request, "validate_only", False):
            if not request.HasField("session"):
                request = type(request).FromString(request.SerializeToString())
                request.session.CopyFrom(pb.Session(client_id=_CLIENT_ID, seq=next(_SEQ)))
            session = request.session
        deadline = time.monotonic() + timeout
        target = prefer if prefer is not None and prefer.running else None
        last: Optional[grpc.RpcError] = None
        rr = 0
        while time.monotonic() < deadline:
            if target is None or not target.running:
                cands = self.running()
                assert cands, "no member is running"
                target = cands[rr % len(cands)]
                rr += 1
            try:
                return getattr(target.stub(), method)(
                    request, timeout=min(per_call, max(0.05, deadline - time.monotonic())))
            except grpc.RpcError as e:
                last = e
                retriable = rpc_code(e) == grpc.StatusCode.UNAVAILABLE or (
                    session is not None and rpc_code(e) == grpc.StatusCode.UNKNOWN)
                if not retriable:
                    raise
                hint = self.member_by_api(trailing(e).get("fjord-leader-address", ""))
                target = hint if hint is not None and hint is not target and hint.running else None
                time.sleep(0.02)
        assert last is not None
        raise last


# --------------------------------------------------------------------------
# Helpers shared by the tests.


def make_broker(broker_id: int = 1, incarnation: str = "00000000-0000-4000-8000-000000000001",
                port: int = 9092) -> md.Broker:
    return md.Broker(id=broker_id, incarnation=incarnation,
                     endpoints=[md.Endpoint(name="kafka", host="127.0.0.1", port=port)],
                     rack="r1", version="e2e")


def register_broker(cluster: Cluster, broker_id: int = 1) -> pb.RegisterBrokerResponse:
    r = cluster.call("RegisterBroker", pb.RegisterBrokerRequest(broker=make_broker(broker_id)))
    assert r.result.code == pb.OK, r.result
    return r


def topic_names(resp: pb.ListTopicsResponse) -> set[str]:
    return {t.name for t in resp.topics}


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> dict[tuple, float]:
    """Prometheus text format -> {(name, ((label, value), ...sorted)): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, f"malformed metrics line: {line!r}"
        labels = tuple(sorted(_LABEL.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(samples: dict, name: str, **labels) -> Optional[float]:
    """One sample's value; None if absent."""
    return samples.get((name, tuple(sorted(labels.items()))))


# --------------------------------------------------------------------------
# Fixtures.


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(autouse=True)
def _test_timeout(request):
    """A per-test wall-clock limit (pytest-timeout is not installed): SIGALRM
    raises in the test's thread, so fixture teardown still stops every
    process. Override with @pytest.mark.timeout(seconds)."""
    marker = request.node.get_closest_marker("timeout")
    seconds = int(marker.args[0]) if marker else DEFAULT_TEST_TIMEOUT_S

    def on_alarm(signum, frame):
        raise TimeoutError(f"test exceeded its {seconds}s limit")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="session", autouse=True)
def _binary_exists():
    if not BINARY.is_file():
        pytest.fail(f"{BINARY} not found: build it (ninja -C {BUILD_DIR} fjord-controller) "
                    f"or set FJORD_BUILD_DIR", pytrace=False)


@pytest.fixture
def cluster_factory(request, tmp_path):
    """Makes Clusters under this test's tmp dir; stops every process they
    started at teardown, pass or fail, and prints member logs on failure."""
    made: list[Cluster] = []

    def make(n_founders: int = 3) -> Cluster:
        c = Cluster(tmp_path / f"cluster{len(made)}")
        c.root.mkdir()
        c.add(range(1, n_founders + 1), founders=True)
        made.append(c)
        return c

    yield make
    failed = any(getattr(request.node, "rep_" + w, None) is not None
                 and getattr(request.node, "rep_" + w).failed for w in ("setup", "call"))
    for c in made:
        c.stop_all()
        if failed:
            for m in c.members.values():
                sys.stderr.write(f"\n=== member {m.id} log tail ===\n{m.log_tail()}\n")


@pytest.fixture
def cluster(cluster_factory) -> Cluster:
    """Three founding members, started, with an agreed leader."""
    c = cluster_factory(3)
    c.start()
    c.wait_for_leader(timeout=15)
    return c


# --------------------------------------------------------------------------
# fjord-broker, the fjord CLI and kcat, for the broker's tests.

BROKER = BUILD_DIR / "bin" / "fjord-broker"
FJORD = BUILD_DIR / "bin" / "fjord"


class Broker:
    """One fjord-broker process following `cluster`."""

    def __init__(self, cluster: Cluster, root: Path, broker_id: int = 1):
        self.cluster = cluster
        self.id = broker_id
        self.dir = root / f"broker-{broker_id}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.metrics_port = free_port()
        self.proc: subprocess.Popen | None = None
        controllers = ", ".join(m.api for m in cluster.members.values())
        (self.dir / "broker.yaml").write_text(
            f"node_id: {broker_id}\n"
            f"data_dir: {self.dir / 'data'}\n"
            f"controllers: [{controllers}]\n"
            f"listen:\n  kafka: 127.0.0.1:{self.port}\n  metrics: 127.0.0.1:{self.metrics_port}\n"
            "connections_max_idle_ms: 60000\n")

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = spawn([str(BROKER), "--config", str(self.dir / "broker.yaml")],
                          self.dir / "broker.log")
        wait_until(self.healthy, 20, f"broker {self.id} ready")

    def healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"broker exited {self.proc.returncode}:\n{self.log()}")
        try:
            with socket.create_connection(("127.0.0.1", self.metrics_port), timeout=0.5) as s:
                s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                return b" 200 " in s.recv(100)
        except OSError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        p = self.dir / "broker.log"
        return p.read_text(errors="replace")[-4000:] if p.exists() else ""


@pytest.fixture
def broker(cluster: Cluster, tmp_path: Path):
    b = Broker(cluster, tmp_path)
    b.start()
    yield b
    b.stop()


def fjord(cluster: Cluster, *args: str, check: bool = True,
          stdin: str | None = None) -> subprocess.CompletedProcess:
    controllers = ",".join(m.api for m in cluster.members.values())
    env = {k: v for k, v in os.environ.items() if not k.startswith("FJORD_")}
    env["HOME"] = "/nonexistent"
    p = subprocess.run([str(FJORD), "-X", f"controllers={controllers}", *args], input=stdin,
                       capture_output=True, text=True, env=env, timeout=60)
    if check:
        assert p.returncode == 0, f"fjord {' '.join(args)}: {p.stdout}\n{p.stderr}"
    return p


def kcat(*args: str, stdin: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(["kcat", *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout)


# Tiered storage and mountable topics (docs/tiered-storage.md): shared by
# test_mount.py, test_mount_faults.py and test_tiered_*.py.

RDKAFKA_CLIENT = BUILD_DIR / "bin" / "rdkafka_client"


def rdkafka(*args: str, timeout: float = 120) -> list[dict]:
    """tests/clients/rdkafka_client ARGS (librdkafka); its JSON lines. Fails
    unless it exits 0."""
    p = subprocess.run([str(RDKAFKA_CLIENT), *args], capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode == 0, f"rdkafka_client {' '.join(args)}: {p.stdout}\n{p.stderr}"
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def storage(cluster: Cluster, *args: str, check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess:
    """`fjord cluster storage ARGS`, as an operator runs it."""
    controllers = ",".join(m.api for m in cluster.members.values())
    env = {k: v for k, v in os.environ.items() if not k.startswith("FJORD_")}
    env["HOME"] = "/nonexistent"
    p = subprocess.run([str(FJORD), "-X", f"controllers={controllers}", "-X",
                        "globals.retry_timeout=5s", "cluster", "storage", *args],
                       capture_output=True, text=True, env=env, timeout=timeout)
    if check:
        assert p.returncode == 0, f"storage {' '.join(args)}: {p.stdout}\n{p.stderr}"
    return p


def enable_cloud_storage(cluster: Cluster, bucket: Path) -> None:
    bucket.mkdir(parents=True, exist_ok=True)
    fjord(cluster, "cluster", "config", "set", "cloud_storage_enabled=true",
          f"cloud_storage_local_directory={bucket}")


def topic(cluster: Cluster, name: str) -> md.Topic | None:
    r = cluster.call("ListTopics", pb.ListTopicsRequest(names=[name]))
    return r.topics[0] if r.topics else None


def migration(cluster: Cluster, mid: int) -> md.Migration:
    return cluster.call("GetMigration", pb.GetMigrationRequest(id=mid)).migration


def state_name(s: int) -> str:
    return md.MigrationState.Name(s).removeprefix("MIGRATION_STATE_").lower()


def wait_state(cluster: Cluster, mid: int, state: str, timeout: float = 20) -> md.Migration:
    def check():
        m = migration(cluster, mid)
        return m if state_name(m.state) == state else None
    return wait_until(check, timeout, f"migration {mid} {state}")


def started_id(p: subprocess.CompletedProcess) -> int:
    """The id in rpk's "... has started with Migration ID N" line."""
    line = next(ln for ln in p.stdout.splitlines() if "Migration ID" in ln)
    return int(line.rsplit(" ", 1)[1])


def mount_manifest(bucket: Path, location: str) -> Path:
    return bucket / "mountable" / location / "topic_manifest.json"



# Hand-made Kafka requests, for what no client library will send.


def produce_request(topic: str, batch: bytes, correlation: int = 7) -> bytes:
    """A hand-made Produce v3 request (classic encoding) with one batch."""
    body = struct.pack(">h", -1)  # transactional_id: null
    body += struct.pack(">hi", 1, 5000)  # acks=1, timeout
    body += struct.pack(">i", 1) + struct.pack(">h", len(topic)) + topic.encode()
    body += struct.pack(">i", 1) + struct.pack(">i", 0)  # one partition: 0
    body += struct.pack(">i", len(batch)) + batch
    header = struct.pack(">hhi", 0, 3, correlation) + struct.pack(">h", 4) + b"test"
    msg = header + body
    return struct.pack(">i", len(msg)) + msg


def record_batch(value: bytes, crc_ok: bool = True, producer_id: int = -1,
                 producer_epoch: int = -1, base_sequence: int = -1) -> bytes:
    """One uncompressed record batch v2 holding one record (an idempotent
    producer's when producer_id >= 0)."""

    def crc32c(data: bytes) -> int:
        crc = 0xFFFFFFFF
        for b in data:
            crc ^= b
            for _ in range(8):
                crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        return crc ^ 0xFFFFFFFF

    def varint(n: int) -> bytes:
        n = (n << 1) ^ (n >> 63)
        out = b""
        while True:
            b = n & 0x7F
            n >>= 7
            if n:
                out += bytes([b | 0x80])
            else:
                return out + bytes([b])

    rec = b"\x00" + varint(0) + varint(0) + varint(-1) + varint(len(value)) + value + varint(0)
    record = varint(len(rec)) + rec
    # Stamped now: a 1970 timestamp is past any retention.ms, and the broker
    # rolls and deletes such a segment within seconds, as Kafka does.
    now_ms = int(time.time() * 1000)
    after_crc = struct.pack(">hiqqqhii", 0, 0, now_ms, now_ms, producer_id, producer_epoch,
                            base_sequence, 1) + record
    crc = crc32c(after_crc) ^ (0 if crc_ok else 1)
    after_len = struct.pack(">ib", 0, 2) + struct.pack(">I", crc) + after_crc
    return struct.pack(">qi", 0, len(after_len)) + after_len


def read_response(s: socket.socket) -> bytes:
    size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
    return s.recv(size, socket.MSG_WAITALL)
