# File: bench/clusters.py
"""Benchmark harness: 3-member etcd and fjord-controller groups on loopback.

Shared by bench/run_controller_vs_etcd and bench/run_failover. Contract:

- Every process is started here, under `setpriv --pdeathsig SIGKILL` in its own
  session, tracked by pid and stopped by pid (SIGTERM, then SIGKILL) when its
  cluster stops, and as a last resort at interpreter exit. Nothing else is
  ever signalled.
- Everything listens on 127.0.0.1 ports that were free when chosen. Data
  directories live under the caller's root directory (on disk: fsync must be
  real, so never point it at a tmpfs).
- etcd runs with Debian's /usr/bin/etcd and its defaults (fsync on); only
  names, URLs, data dir, the cluster token and, when asked, the heartbeat and
  election timeouts are given. fjord-controller (build/bin, or $FJORD_CONTROLLER)
  runs with its defaults except the Raft tick when asked.
- Python stubs for the Fjord API and for the minimal etcd API in
  bench/etcd_proto are generated into a temp dir at import (never committed).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from pathlib import Path
from typing import Callable, Optional

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = Path(os.environ.get("FJORD_BUILD_DIR", REPO_ROOT / "build")).resolve()
# FJORD_CONTROLLER: measure another build of the controller (e.g. a pinned copy).
CONTROLLER = Path(os.environ.get("FJORD_CONTROLLER", BUILD_DIR / "bin" / "fjord-controller"))
LOADGEN = BUILD_DIR / "bin" / "controller_vs_etcd"
FLOOR = BUILD_DIR / "bin" / "grpc_floor"
ETCD = Path("/usr/bin/etcd")


def _generate_stubs() -> str:
    out = tempfile.mkdtemp(prefix="fjord-bench-stubs-")
    atexit.register(shutil.rmtree, out, True)
    jobs = [
        (REPO_ROOT / "proto", sorted(
            str(p.relative_to(REPO_ROOT / "proto"))
            for p in (REPO_ROOT / "proto/fjord/controller/v1").glob("*.proto"))),
        (REPO_ROOT / "bench/etcd_proto", ["etcdserverpb/rpc.proto"]),
    ]
    for include, files in jobs:
        cmd = ["/usr/bin/protoc", "-I", str(include), f"--python_out={out}", f"--grpc_out={out}",
               "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin", *files]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"protoc failed ({' '.join(cmd)}):\n{r.stderr}")
    return out


sys.path.insert(0, _generate_stubs())

import grpc  # noqa: E402

from etcdserverpb import rpc_pb2 as etcd_pb  # noqa: E402
from etcdserverpb import rpc_pb2_grpc as etcd_grpc  # noqa: E402
from fjord.controller.v1 import controller_service_pb2 as pb  # noqa: E402
from fjord.controller.v1 import controller_service_pb2_grpc as pb_grpc  # noqa: E402
from fjord.controller.v1 import metadata_pb2 as md  # noqa: E402

# --------------------------------------------------------------------------
# Processes.

_PROCS: list[subprocess.Popen] = []
_PROCS_MU = threading.Lock()
_PORTS: set[int] = set()


def _kill_leftovers() -> None:
    with _PROCS_MU:
        procs = list(_PROCS)
    for p in procs:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass


atexit.register(_kill_leftovers)


def free_port() -> int:
    """A loopback port free when asked, never handed out twice by this process."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _PORTS:
            _PORTS.add(port)
            return port
    raise RuntimeError("no free port")


def spawn(argv: list, log_path: Path, env: Optional[dict] = None) -> subprocess.Popen:
    """Starts a process we own, output to `log_path`, SIGKILLed if we die."""
    with open(log_path, "ab") as log:
        p = subprocess.Popen(["/usr/bin/setpriv", "--pdeathsig", "SIGKILL", "--", *argv],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                             cwd=log_path.parent, start_new_session=True, env=env)
    with _PROCS_MU:
        _PROCS.append(p)
    return p


def stop_process(p: Optional[subprocess.Popen], timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after `timeout`; only ever our own pid."""
    if p is None or p.poll() is not None:
        return
    os.kill(p.pid, signal.SIGTERM)
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=10)


def kill_process(p: Optional[subprocess.Popen]) -> float:
    """SIGKILL (a crash) and reap; returns time.monotonic() taken right after
    the signal was sent (from then on the process runs no more user code)."""
    t = time.monotonic()
    if p is not None and p.poll() is None:
        os.kill(p.pid, signal.SIGKILL)
        t = time.monotonic()
        p.wait(timeout=10)
    return t


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until(pred: Callable[[], object], timeout: float, what: str, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    last: Optional[BaseException] = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except grpc.RpcError as e:
            last = e
        if time.monotonic() >= deadline:
            raise RuntimeError(f"timed out after {timeout:.1f}s waiting for {what}"
                               + (f" (last error: {last})" if last else ""))
        time.sleep(interval)


def http_get(url: str, timeout: float = 2.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text -> {"name{labels}": value} (labels as written)."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            pass
    return out


def channel(address: str) -> grpc.Channel:
    return grpc.insecure_channel(address, options=[
        ("grpc.initial_reconnect_backoff_ms", 50),
        ("grpc.max_reconnect_backoff_ms", 250),
    ])


# --------------------------------------------------------------------------
# Members.


class Member:
    """One process of a group: its ports, data dir, log and pid."""

    def __init__(self, idx: int, root: Path):
        self.idx = idx
        self.client_port = free_port()
        self.peer_port = free_port()
        self.work_dir = root / f"m{idx}"
        self.data_dir = self.work_dir / "data"
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0
        self._channel: Optional[grpc.Channel] = None

    @property
    def client(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def peer(self) -> str:
        return f"127.0.0.1:{self.peer_port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def grpc_channel(self) -> grpc.Channel:
        if self._channel is None:
            self._channel = channel(self.client)
        return self._channel

    def close_channel(self) -> None:
        if self._channel is not None:
            self._channel.close()
        self._channel = None

    def _start(self, argv: list, env: Optional[dict] = None) -> None:
        assert not self.running
        self.starts += 1
        self.proc = spawn(argv, self.work_dir / f"m{self.idx}.{self.starts}.log", env)
        wait_until(self._listening, 20, f"member {self.idx} to listen on {self.client}")

    def _listening(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"member {self.idx} exited with {self.proc.returncode}; see "
                               f"{self.work_dir}")
        try:
            with socket.create_connection(("127.0.0.1", self.client_port), timeout=0.2):
                return True
        except OSError:
            return False

    def kill(self) -> float:
        """SIGKILL; returns the monotonic time right after the signal was sent."""
        t = kill_process(self.proc)
        self.close_channel()
        return t

    def stop(self) -> None:
        self.close_channel()
        stop_process(self.proc)


class Cluster:
    """Three members of one system. Subclasses know how to start one and how
    to ask it who leads."""

    system = ""

    def __init__(self, root: Path, n: int = 3):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.members = [self.make_member(i, root) for i in range(1, n + 1)]

    def make_member(self, idx: int, root: Path) -> Member:
        return Member(idx, root)

    def start(self) -> None:
        for m in self.members:
            self.start_member(m)
        self.wait_for_leader(timeout=30)

    def start_member(self, m: Member) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        for m in self.members:
            m.stop()

    @property
    def endpoints(self) -> list[str]:
        return [m.client for m in self.members]

    def running(self) -> list[Member]:
        return [m for m in self.members if m.running]

    def leader_of(self, m: Member) -> Optional[tuple[int, int, int]]:
        """(self id, leader id, term) as `m` sees them; None if it does not answer."""
        raise NotImplementedError

    def wait_for_leader(self, timeout: float = 15.0) -> Member:
        """Waits until every running member names the same leader and that
        leader is running; returns it."""

        def check():
            ids, leaders = {}, set()
            for m in self.running():
                v = self.leader_of(m)
                if v is None:
                    return None
                ids[v[0]] = m
                leaders.add(v[1])
            if len(leaders) != 1:
                return None
            lid = leaders.pop()
            return ids.get(lid) if lid != 0 else None

        return wait_until(check, timeout, f"{self.system} leader")

    def start_write(self, ch: grpc.Channel, seq: int, timeout: float) -> grpc.Future:
        """Starts one real write over `ch`; the future's result is the response."""
        raise NotImplementedError

    def write_ok(self, resp) -> bool:
        """Whether a response is an acknowledged write."""
        return True

    def write(self, m: Member, seq: int, timeout: float, ch: Optional[grpc.Channel] = None):
        """One real write through `m` (over `ch` if given); raises on failure."""
        r = self.start_write(ch or m.grpc_channel(), seq, timeout).result()
        if not self.write_ok(r):
            raise RuntimeError(f"{self.system} write not acknowledged: {r}")
        return r

    def metrics_url(self, m: Member) -> str:
        raise NotImplementedError


class EtcdCluster(Cluster):
    """Debian's etcd 3.4 with its defaults; heartbeat/election only when given."""

    system = "etcd"

    def __init__(self, root: Path, heartbeat_ms: Optional[int] = None,
                 election_ms: Optional[int] = None, n: int = 3):
        self.heartbeat_ms = heartbeat_ms
        self.election_ms = election_ms
        self.token = f"fjord-bench-{os.getpid()}-{time.monotonic_ns()}"
        super().__init__(root, n)
        self.value = b"v" * 256
        self.ids: dict[int, int] = {}  # etcd member id -> our index

    def _argv(self, m: Member) -> list:
        initial = ",".join(f"m{x.idx}=http://{x.peer}" for x in self.members)
        argv = [str(ETCD), "--name", f"m{m.idx}", "--data-dir", str(m.data_dir),
                "--listen-client-urls", f"http://{m.client}",
                "--advertise-client-urls", f"http://{m.client}",
                "--listen-peer-urls", f"http://{m.peer}",
                "--initial-advertise-peer-urls", f"http://{m.peer}",
                "--initial-cluster", initial, "--initial-cluster-state", "new",
                "--initial-cluster-token", self.token, "--logger", "zap"]
        if self.heartbeat_ms is not None:
            argv += ["--heartbeat-interval", str(self.heartbeat_ms)]
        if self.election_ms is not None:
            argv += ["--election-timeout", str(self.election_ms)]
        return argv

    def start_member(self, m: Member) -> None:
        # Only our flags: no ETCD_* variables from the environment.
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
        m._start(self._argv(m), env)

    def leader_of(self, m: Member) -> Optional[tuple[int, int, int]]:
        try:
            r = etcd_grpc.MaintenanceStub(m.grpc_channel()).Status(etcd_pb.StatusRequest(),
                                                                   timeout=0.5)
        except grpc.RpcError:
            return None
        self.ids[r.header.member_id] = m.idx
        return r.header.member_id, r.leader, r.raftTerm

    def applied_index(self, m: Member) -> int:
        r = etcd_grpc.MaintenanceStub(m.grpc_channel()).Status(etcd_pb.StatusRequest(),
                                                               timeout=0.5)
        return r.raftIndex

    def start_write(self, ch: grpc.Channel, seq: int, timeout: float) -> grpc.Future:
        return etcd_grpc.KVStub(ch).Put.future(
            etcd_pb.PutRequest(key=f"{seq:016d}".encode(), value=self.value), timeout=timeout)

    def metrics_url(self, m: Member) -> str:
        return f"http://{m.client}/metrics"


class FjordMember(Member):
    def __init__(self, idx: int, root: Path):
        super().__init__(idx, root)
        self.metrics_port = free_port()


class FjordCluster(Cluster):
    """fjord-controller with its defaults; the Raft tick only when given."""

    system = "fjord"
    TOPICS = 16

    def __init__(self, root: Path, tick_ms: Optional[int] = None,
                 election_ticks: Optional[int] = None, n: int = 3):
        self.tick_ms = tick_ms
        self.election_ticks = election_ticks
        super().__init__(root, n)

    def make_member(self, idx: int, root: Path) -> Member:
        return FjordMember(idx, root)

    def _config(self, m: Member) -> Path:
        lines = [f"node_id: {m.idx}", f"data_dir: {m.data_dir}",
                 f"listen: {{api: {m.client}, peer: {m.peer}, "
                 f"metrics: 127.0.0.1:{m.metrics_port}}}",
                 "initial_members:"]
        lines += [f"  - {{id: {x.idx}, peer: {x.peer}, api: {x.client}}}" for x in self.members]
        raft = []
        if self.tick_ms is not None:
            raft.append(f"tick_ms: {self.tick_ms}")
        if self.election_ticks is not None:
            raft.append(f"election_ticks: {self.election_ticks}")
        if raft:
            lines.append(f"raft: {{{', '.join(raft)}}}")
        path = m.work_dir / f"m{m.idx}.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def start_member(self, m: Member) -> None:
        m._start([str(CONTROLLER), "--config", str(self._config(m))])

    def leader_of(self, m: Member) -> Optional[tuple[int, int, int]]:
        try:
            r = pb_grpc.ControllerServiceStub(m.grpc_channel()).Status(pb.StatusRequest(),
                                                                       timeout=0.5)
        except grpc.RpcError:
            return None
        leader = r.leader_id if (r.role == "leader" or r.leader_id != r.node_id) else 0
        return r.node_id, leader, r.term

    def applied_index(self, m: Member) -> int:
        r = pb_grpc.ControllerServiceStub(m.grpc_channel()).Status(pb.StatusRequest(),
                                                                   timeout=0.5)
        return r.applied_index

    def topic(self, seq: int) -> str:
        return f"failover-{seq % self.TOPICS:03d}"

    def setup_writes(self) -> None:
        """Registers a broker and creates the topics `write` alters."""
        leader = self.wait_for_leader()
        stub = pb_grpc.ControllerServiceStub(leader.grpc_channel())
        broker = md.Broker(id=1, incarnation="00000000-0000-4000-8000-0000000000b1",
                           endpoints=[md.Endpoint(name="kafka", host="127.0.0.1", port=9092)],
                           version="bench")
        r = stub.RegisterBroker(pb.RegisterBrokerRequest(broker=broker), timeout=10)
        assert r.result.code == pb.OK, r.result
        items = [pb.CreateTopicsRequest.Item(name=self.topic(i), partitions=1,
                                             replication_factor=1) for i in range(self.TOPICS)]
        r = stub.CreateTopics(pb.CreateTopicsRequest(topics=items), timeout=10)
        for t in r.topics:
            assert t.result.code in (pb.OK, pb.TOPIC_ALREADY_EXISTS), t.result

    def start_write(self, ch: grpc.Channel, seq: int, timeout: float) -> grpc.Future:
        item = pb.AlterTopicConfigsRequest.Item(
            name=self.topic(seq), set={"retention.ms": str(1_000_000_000_000 + seq)})
        return pb_grpc.ControllerServiceStub(ch).AlterTopicConfigs.future(
            pb.AlterTopicConfigsRequest(topics=[item]), timeout=timeout)

    def write_ok(self, resp) -> bool:
        return len(resp.topics) == 1 and resp.topics[0].result.code == pb.OK

    def metrics_url(self, m: Member) -> str:
        return f"http://127.0.0.1:{m.metrics_port}/metrics"


class FloorCluster(Cluster):
    """One grpc_floor process: the controller API answered without Raft, disk or
    state, the ceiling of any server on this gRPC stack. Its one member leads."""

    system = "floor"

    def __init__(self, root: Path):
        super().__init__(root, 1)

    def start_member(self, m: Member) -> None:
        m._start([str(FLOOR), "--listen", m.client])

    def wait_for_leader(self, timeout: float = 15.0) -> Member:
        return self.members[0]

    def metrics_url(self, m: Member) -> str:
        return ""


def machine_info(data_root: Path) -> dict:
    """What the results were measured on."""

    def run(cmd: list) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    df = run(["df", "-T", str(data_root)]).splitlines()
    return {
        "nproc": os.cpu_count(),
        "cpu": next((ln.split(":", 1)[1].strip() for ln in
                     Path("/proc/cpuinfo").read_text().splitlines()
                     if ln.startswith("model name")), ""),
        "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": os.uname().release,
        "data_fs": " ".join(df[1].split()[:2]) if len(df) > 1 else "",
        "loadavg": list(os.getloadavg()),
        "uptime": run(["uptime"]),
        "etcd_version": run([str(ETCD), "--version"]).splitlines()[0] if ETCD.exists() else "",
        # Relative to the repository: results are committed, machine paths are not.
        "controller_binary": (str(CONTROLLER.resolve().relative_to(REPO_ROOT))
                              if CONTROLLER.resolve().is_relative_to(REPO_ROOT)
                              else CONTROLLER.name),
        "controller_built": time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                          time.localtime(CONTROLLER.stat().st_mtime))
        if CONTROLLER.exists() else "",
        "git_commit": run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"]),
        # Uncommitted changes to what the controller is built from.
        "git_dirty": bool(run(["git", "-C", str(REPO_ROOT), "status", "--porcelain",
                               "--untracked-files=no", "--", "controller", "common", "proto",
                               "CMakeLists.txt"])),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def describe_build(mi: dict) -> str:
    """One line naming the controller binary measured and the tree it sat in."""
    binary = mi.get("controller_binary", "")
    try:
        binary = str(Path(binary).relative_to(REPO_ROOT))
    except ValueError:
        pass
    return (f"`{binary}` (built {mi.get('controller_built', '?')}), tree at "
            f"{mi['git_commit']}{' + uncommitted changes' if mi['git_dirty'] else ''}")


def wrap_markdown(text: str, width: int = 100) -> str:
    """Wraps prose lines and bullets of generated markdown; tables stay as they are."""
    out = []
    for line in text.splitlines():
        if len(line) <= width or line.startswith("|"):
            out.append(line)
        elif line.startswith("- "):
            out.append(textwrap.fill(line, width, subsequent_indent="  ",
                                     break_on_hyphens=False))
        else:
            out.append(textwrap.fill(line, width, break_on_hyphens=False))
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def replace_section(path: Path, name: str, body: str) -> None:
    """Replaces the text between `<!-- name:begin -->` and `<!-- name:end -->`
    in `path` (appending the markers when absent)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + ("\n\n" if text else "") + block + "\n"
    path.write_text(text, encoding="utf-8")
