"""Fault injection for the end-to-end tests: network partitions between real
processes, SIGSTOP/SIGCONT, SIGKILL and restart.

Network partitions: network namespaces, one per process, routed by a hub
-----------------------------------------------------------------------

Each controller (and broker) that may be partitioned runs in its own network
namespace with its own address, 10.X.Y.<n>/32, reached over a veth pair from
one "hub" namespace that routes between them (ip_forward on, in the hub only).
The test process itself stays in the root namespace and reaches every member
over one more veth pair into the hub (one interface and one route for
10.X.Y.0/24 in the root namespace; the subnet is chosen at random among those
no root route overlaps, under a lock). A partition is a pair of policy rules
in the hub, ``ip rule add from A to B blackhole`` and the reverse, so it

- cuts exactly the pair asked for (true pairwise and even one-way
  partitions: A->B can be cut while B->A flows), whatever port or protocol;
- drops silently, in the middle of the network, like a dead switch or a
  firewall DROP: no RST, no ICMP, established connections hang and time out,
  which is what a real partition does to gRPC (an ``unreachable``/``prohibit``
  rule, or a route inside the member, would fail fast instead);
- never touches the test's own connections (only member-to-member pairs are
  ruled), so the test can watch every side of a partition;
- needs nothing but iproute2 and nsenter (this machine has no iptables or
  nft).

Why not a TCP proxy per link: controllers find each other by the peer
addresses in the membership (initial_members, AddMember), a single address
per member that every peer dials, so a proxy could not tell which peer a
connection comes from; a proxy per (from, to) pair would need each member to
dial a different address for the same peer, which the membership cannot
express. A proxy also only breaks connections it sees, turns silence into
resets unless it holds sockets open, and adds its own latency and failure
modes. Namespaces give one address per member, so the membership stays
exactly what operators write.

Namespace support is checked when a test asks for the `network` fixture
(root, iproute2, nsenter, and a probe ``ip netns add``); without it the test
is skipped with the reason. Process faults (`pause`, `crash`, `restart`) work
on any member, namespaced or on loopback, and need nothing.

Everything a test creates is named ``fjf<pytest pid>x<n>-...`` (namespaces;
interfaces get a short form) and removed at teardown, pass or fail, and at
interpreter exit; a later session removes leftovers of sessions whose pytest
process no longer exists (a SIGKILLed pytest cannot clean up). Deleting a
namespace deletes its veth ends, and with the hub's end the root's.
"""

from __future__ import annotations

import atexit
import fcntl
import ipaddress
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import pytest

from conftest import (BINARY, BROKER, ELECTION_TICKS, FJORD, TICK_MS, Cluster, Member, spawn,
                      wait_until)

IP = shutil.which("ip") or "/usr/sbin/ip"
NSENTER = shutil.which("nsenter") or "/usr/bin/nsenter"
LOCK_PATH = "/tmp/fjord-e2e-faults.lock"
PREFIX = "fjf"
# Members of a namespaced cluster all use the default ports: each has its own address.
API_PORT, PEER_PORT, METRICS_PORT = 9644, 33145, 9645
KAFKA_PORT, BROKER_METRICS_PORT = 9092, 9093
# A short broker session in namespaced clusters, so that a broker cut off
# from the controllers is seen as dead quickly.
BROKER_SESSION_TIMEOUT_MS = 2000


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([IP, *args], capture_output=True, text=True, timeout=20)
    if check and p.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {p.stderr.strip()}")
    return p


# --------------------------------------------------------------------------
# Namespaces.


def namespaces_unavailable() -> Optional[str]:
    """None if this process can make network namespaces, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root (the fault tests run as root in CI)"
    if not os.path.exists(IP) or not os.path.exists(NSENTER):
        return f"iproute2 ({IP}) and nsenter ({NSENTER}) are needed"
    probe = f"{PREFIX}{os.getpid()}probe"
    p = _ip("netns", "add", probe, check=False)
    if p.returncode != 0:
        return f"'ip netns add' fails here: {p.stderr.strip()}"
    try:
        q = subprocess.run([NSENTER, f"--net=/run/netns/{probe}", "--", IP, "link", "set", "lo",
                            "up"], capture_output=True, text=True, timeout=20)
        if q.returncode != 0:
            return f"nsenter into a namespace fails here: {q.stderr.strip()}"
    finally:
        _ip("netns", "del", probe, check=False)
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def remove_stale_namespaces() -> list[str]:
    """Removes namespaces this harness made in sessions whose pytest process
    is gone (named fjf<pid>x...). Nothing of a live session is touched."""
    removed = []
    out = _ip("netns", "list", check=False).stdout
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.fullmatch(rf"{PREFIX}(\d+)x\d+-\w+", name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            _ip("netns", "del", name, check=False)
            removed.append(name)
    return removed


@dataclass
class Host:
    """One namespace on the test network, with one address."""

    name: str  # namespace name
    ip: str
    hub_if: str  # the hub's end of its veth pair

    @property
    def netns_path(self) -> str:
        return f"/run/netns/{self.name}"

    def argv(self, *cmd: str) -> list[str]:
        """`cmd` run inside this namespace (nsenter execs it: same pid)."""
        return [NSENTER, f"--net={self.netns_path}", "--", *cmd]


_LIVE_NETWORKS: list["Network"] = []
_LIVE_MU = threading.Lock()
_COUNTER = [0]


def _teardown_live_networks() -> None:
    with _LIVE_MU:
        nets = list(_LIVE_NETWORKS)
    for n in nets:
        n.teardown()


atexit.register(_teardown_live_networks)


class Network:
    """A hub namespace routing between per-process namespaces, reachable
    from the root namespace. See the module docstring."""

    def __init__(self) -> None:
        with _LIVE_MU:
            _COUNTER[0] += 1
            n = _COUNTER[0]
        self.tag = f"{PREFIX}{os.getpid()}x{n}"
        self.short = f"f{os.getpid() % 100000}x{n % 100}"  # interface names: <= 15 chars
        self.hub = f"{self.tag}-hub"
        self.root_if = f"{self.short}r"
        self.hosts: dict[str, Host] = {}
        self.rules: set[tuple[str, str]] = set()  # (from ip, to ip) blackholed in the hub
        self.events: list[tuple[float, str]] = []
        self.subnet = ""
        self._mu = threading.Lock()
        self._made_namespaces: list[str] = []
        self._up = False

    # -- set-up and teardown

    def setup(self) -> "Network":
        with _LIVE_MU:
            _LIVE_NETWORKS.append(self)
        with open(LOCK_PATH, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self.subnet = self._free_subnet()
                self._netns_add(self.hub)
                self._in(self.hub, IP, "link", "set", "lo", "up")
                self._in(self.hub, "/bin/sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward")
                hub_ip, root_ip = f"{self.subnet}.254", f"{self.subnet}.253"
                hub_root_if = f"{self.short}h0"
                _ip("link", "add", self.root_if, "type", "veth", "peer", "name", hub_root_if,
                    "netns", self.hub)
                _ip("-n", self.hub, "addr", "add", f"{hub_ip}/32", "dev", hub_root_if)
                _ip("-n", self.hub, "link", "set", hub_root_if, "up")
                _ip("-n", self.hub, "route", "add", f"{root_ip}/32", "dev", hub_root_if)
                _ip("addr", "add", f"{root_ip}/32", "dev", self.root_if)
                _ip("link", "set", self.root_if, "up")
                _ip("route", "add", f"{hub_ip}/32", "dev", self.root_if)
                _ip("route", "add", f"{self.subnet}.0/24", "via", hub_ip, "dev", self.root_if,
                    "src", root_ip)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        self._up = True
        self._event(f"network {self.tag}: {self.subnet}.0/24, hub {self.hub}")
        return self

    def _free_subnet(self) -> str:
        """A 10.x.y.0/24 that no route or address of the root namespace overlaps."""
        text = _ip("-4", "-o", "route", "show", "table", "all").stdout + \
            _ip("-4", "-o", "addr").stdout
        used = []
        for tok in re.findall(r"\b(\d+\.\d+\.\d+\.\d+(?:/\d+)?)\b", text):
            try:
                net = ipaddress.ip_network(tok, strict=False)
            except ValueError:
                continue
            if net.prefixlen > 0:  # not the default route
                used.append(net)
        rng = random.Random(os.getpid() * 1000 + _COUNTER[0] + time.time_ns())
        for _ in range(1000):
            cand = ipaddress.ip_network(f"10.{rng.randrange(100, 250)}.{rng.randrange(256)}.0/24")
            if not any(cand.overlaps(u) for u in used):
                return str(cand.network_address).rsplit(".", 1)[0]
        raise RuntimeError("no free 10.x.y.0/24 subnet for the test network")

    def _netns_add(self, name: str) -> None:
        _ip("netns", "add", name)
        self._made_namespaces.append(name)

    def _in(self, ns: str, *cmd: str) -> None:
        p = subprocess.run([NSENTER, f"--net=/run/netns/{ns}", "--", *cmd], capture_output=True,
                           text=True, timeout=20)
        if p.returncode != 0:
            raise RuntimeError(f"in {ns}: {' '.join(cmd)}: {p.stderr.strip()}")

    def add_host(self, label: str) -> Host:
        """A new namespace `<tag>-<label>` with the next address."""
        assert self._up, "Network.setup() first"
        n = len(self.hosts) + 1
        assert n < 250
        name = f"{self.tag}-{label}"
        host = Host(name=name, ip=f"{self.subnet}.{n}", hub_if=f"{self.short}h{n}")
        self._netns_add(name)
        _ip("link", "add", host.hub_if, "netns", self.hub, "type", "veth", "peer", "name", "eth0",
            "netns", name)
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "addr", "add", f"{host.ip}/32", "dev", "eth0")
        _ip("-n", name, "link", "set", "eth0", "up")
        _ip("-n", name, "route", "add", f"{self.subnet}.254/32", "dev", "eth0")
        _ip("-n", name, "route", "add", "default", "via", f"{self.subnet}.254", "dev", "eth0")
        _ip("-n", self.hub, "addr", "add", f"{self.subnet}.254/32", "dev", host.hub_if)
        _ip("-n", self.hub, "link", "set", host.hub_if, "up")
        _ip("-n", self.hub, "route", "add", f"{host.ip}/32", "dev", host.hub_if)
        self.hosts[label] = host
        return host

    def teardown(self) -> None:
        """Removes every namespace and link this network made. Idempotent;
        never raises."""
        with _LIVE_MU:
            if self in _LIVE_NETWORKS:
                _LIVE_NETWORKS.remove(self)
        _ip("link", "del", self.root_if, check=False)  # also removes the root route
        for ns in reversed(self._made_namespaces):
            _ip("netns", "del", ns, check=False)
        self._made_namespaces.clear()
        self.rules.clear()
        self._up = False

    def leftovers(self) -> list[str]:
        """What of this network still exists (for the teardown test)."""
        out = []
        names = _ip("netns", "list", check=False).stdout
        out += [ln.split()[0] for ln in names.splitlines() if ln.startswith(self.tag + "-")]
        if _ip("link", "show", self.root_if, check=False).returncode == 0:
            out.append(f"link {self.root_if}")
        if self.subnet and f"{self.subnet}." in _ip("-4", "route").stdout:
            out.append(f"route {self.subnet}.0/24")
        return out

    # -- partitions

    def _event(self, what: str) -> None:
        self.events.append((time.monotonic(), what))

    def block(self, src: Host | str, dst: Host | str) -> None:
        """Drops every packet from `src` to `dst` (one direction)."""
        a, b = _addr(src), _addr(dst)
        with self._mu:
            if (a, b) in self.rules:
                return
            _ip("-n", self.hub, "rule", "add", "pref", "100", "from", a, "to", b, "blackhole")
            self.rules.add((a, b))

    def unblock(self, src: Host | str, dst: Host | str) -> None:
        a, b = _addr(src), _addr(dst)
        with self._mu:
            if (a, b) not in self.rules:
                return
            _ip("-n", self.hub, "rule", "del", "pref", "100", "from", a, "to", b, "blackhole")
            self.rules.discard((a, b))

    def partition(self, side_a: Iterable[Host | str], side_b: Iterable[Host | str]) -> None:
        """Cuts every pair between the two sides, both directions."""
        side_a, side_b = list(side_a), list(side_b)
        for a in side_a:
            for b in side_b:
                self.block(a, b)
                self.block(b, a)
        self._event(f"partition {[_addr(a) for a in side_a]} | {[_addr(b) for b in side_b]}")

    def heal(self, side_a: Optional[Iterable[Host | str]] = None,
             side_b: Optional[Iterable[Host | str]] = None) -> None:
        """Removes the cuts between two sides, or every cut."""
        if side_a is None:
            for a, b in list(self.rules):
                self.unblock(a, b)
            self._event("heal all")
            return
        side_a, side_b = list(side_a), list(side_b or [])
        for a in side_a:
            for b in side_b:
                self.unblock(a, b)
                self.unblock(b, a)
        self._event(f"heal {[_addr(a) for a in side_a]} | {[_addr(b) for b in side_b]}")

    def blocked(self, src: Host | str, dst: Host | str) -> bool:
        return (_addr(src), _addr(dst)) in self.rules


def _label(x) -> str:
    if isinstance(x, NetBroker):
        return f"broker {x.id}"
    if isinstance(x, Member):
        return f"member {x.id}"
    return _addr(x)


def _addr(x) -> str:
    if isinstance(x, Host):
        return x.ip
    if hasattr(x, "host"):
        return x.host.ip
    return str(x)


# --------------------------------------------------------------------------
# Controllers and brokers in namespaces.


@dataclass
class NetMember(Member):
    """A controller member in its own namespace, on its own address, with the
    default ports. Everything else is conftest's Member."""

    host: Optional[Host] = None

    @property
    def api(self) -> str:
        return f"{self.host.ip}:{self.api_port}"

    @property
    def peer(self) -> str:
        return f"{self.host.ip}:{self.peer_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.host.ip}:{self.metrics_port}"

    def write_config(self, node_id: Optional[int] = None, data_dir: Optional[Path] = None,
                     path: Optional[Path] = None) -> Path:
        lines = [
            f"node_id: {node_id if node_id is not None else self.id}",
            f"data_dir: {data_dir if data_dir is not None else self.data_dir}",
            f"listen: {{api: {self.api}, peer: {self.peer}, "
            f"metrics: {self.host.ip}:{self.metrics_port}}}",
        ]
        if self.initial:
            lines.append("initial_members:")
            for m in self.initial:
                lines.append(f"  - {{id: {m.id}, peer: {m.peer}, api: {m.api}}}")
        else:
            lines.append("initial_members: []")
        lines.append(f"raft: {{tick_ms: {TICK_MS}, election_ticks: {ELECTION_TICKS}}}")
        lines.append(f"broker_session_timeout_ms: {BROKER_SESSION_TIMEOUT_MS}")
        lines.append("log_level: info")
        p = path or self.config_path
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return p

    def start(self, wait: bool = True) -> None:
        assert not self.running, f"member {self.id} is already running (pid {self.proc.pid})"
        self.write_config()
        self.starts += 1
        log = self.work_dir / f"n{self.id}.{self.starts}.log"
        self.log_paths.append(log)
        self.proc = spawn(self.host.argv(str(BINARY), "--config", str(self.config_path)), log)
        self.close_channel()
        if wait:
            self.wait_listening()

    def wait_listening(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"member {self.id} exited with {self.proc.returncode} "
                                     f"during start-up:\n{self.log_tail(20)}")
            try:
                with socket.create_connection((self.host.ip, self.api_port), timeout=0.2):
                    return
            except OSError:
                pass
            if time.monotonic() >= deadline:
                raise AssertionError(f"member {self.id} does not listen on {self.api} "
                                     f"after {timeout}s")
            time.sleep(0.01)


class NetCluster(Cluster):
    """conftest's Cluster with every member in its own namespace on `net`."""

    def __init__(self, root: Path, net: Network):
        super().__init__(root)
        self.net = net
        self.brokers: list["NetBroker"] = []  # killed at teardown with the members

    def add(self, ids: Iterable[int], founders: bool) -> list[Member]:
        new = []
        for i in ids:
            assert i not in self.members
            m = NetMember(id=i, api_port=API_PORT, peer_port=PEER_PORT,
                          metrics_port=METRICS_PORT, data_dir=self.root / f"n{i}" / "data",
                          work_dir=self.root / f"n{i}", initial=[],
                          host=self.net.add_host(f"c{i}"))
            m.work_dir.mkdir(parents=True, exist_ok=True)
            self.members[i] = m
            new.append(m)
        if founders:
            self._founders.extend(new)
            for m in self._founders:
                m.initial = list(self._founders)
        return new


class NetBroker:
    """A fjord-broker in its own namespace following a NetCluster."""

    def __init__(self, cluster: NetCluster, root: Path, broker_id: int = 1):
        self.cluster = cluster
        self.id = broker_id
        self.host = cluster.net.add_host(f"b{broker_id}")
        self.dir = root / f"broker-{broker_id}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0
        cluster.brokers.append(self)
        controllers = ", ".join(m.api for m in cluster.members.values())
        (self.dir / "broker.yaml").write_text(
            f"node_id: {broker_id}\n"
            f"data_dir: {self.dir / 'data'}\n"
            f"controllers: [{controllers}]\n"
            f"listen:\n  kafka: {self.host.ip}:{KAFKA_PORT}\n"
            f"  metrics: {self.host.ip}:{BROKER_METRICS_PORT}\n"
            "connections_max_idle_ms: 60000\n")

    @property
    def bootstrap(self) -> str:
        return f"{self.host.ip}:{KAFKA_PORT}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait: bool = True) -> None:
        self.starts += 1
        argv = self.host.argv(str(BROKER), "--config", str(self.dir / "broker.yaml"))
        log = self.dir / f"broker.{self.starts}.log"
        self.proc = in_spawner_thread(lambda: spawn(argv, log))
        if wait:
            wait_until(self.healthy, 20, f"broker {self.id} ready")

    def healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"broker exited {self.proc.returncode}:\n{self.log()}")
        try:
            with socket.create_connection((self.host.ip, BROKER_METRICS_PORT), timeout=0.5) as s:
                s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                return b" 200 " in s.recv(100)
        except OSError:
            return False

    def signal(self, sig: int) -> None:
        if self.running:
            os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        if self.running:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def log(self) -> str:
        p = self.dir / f"broker.{self.starts}.log"
        return p.read_text(errors="replace")[-4000:] if p.exists() else ""


# --------------------------------------------------------------------------
# Process faults, and one place that undoes every fault.

# conftest starts processes under `setpriv --pdeathsig SIGKILL`, and the
# parent-death signal fires when the *thread* that forked the child exits,
# not the process: a member restarted by a nemesis thread would be killed
# when that thread ends. So every start from a fault goes through one
# long-lived thread, which ends only with the interpreter.
_spawn_q: "queue.Queue" = queue.Queue()
_spawner: Optional[threading.Thread] = None
_spawner_mu = threading.Lock()


def _spawn_loop() -> None:
    while True:
        fn, done, ev = _spawn_q.get()
        try:
            done.append((True, fn()))
        except BaseException as e:  # noqa: BLE001
            done.append((False, e))
        ev.set()


def in_spawner_thread(fn):
    """Runs `fn` on the long-lived spawner thread (or here, on the main
    thread, which lives as long as the session) and returns its result."""
    global _spawner
    if threading.current_thread() is threading.main_thread():
        return fn()
    with _spawner_mu:
        if _spawner is None:
            _spawner = threading.Thread(target=_spawn_loop, name="fault-spawner", daemon=True)
            _spawner.start()
    done: list = []
    ev = threading.Event()
    _spawn_q.put((fn, done, ev))
    ev.wait()
    ok, v = done[0]
    if not ok:
        raise v
    return v


class Faults:
    """Injects faults into a cluster's processes (controller members, and
    NetBrokers) and its network, if it has one, and remembers them, so that
    `heal_all` can undo every one: heal the network, SIGCONT what is paused,
    start what was crashed. Thread-safe: a nemesis thread injects while the
    test thread reads `events`. Only processes of this cluster are ever
    signalled, by their own pids."""

    def __init__(self, cluster: Cluster, net: Optional[Network] = None):
        self.cluster = cluster
        self.net = net if net is not None else getattr(cluster, "net", None)
        self._paused: dict[str, object] = {}  # label -> member or broker
        self._crashed: dict[str, object] = {}
        self.events: list[tuple[float, str]] = []
        self.counts: dict[str, int] = {}
        self._mu = threading.RLock()

    @property
    def paused(self) -> set[str]:
        return set(self._paused)

    @property
    def crashed(self) -> set[str]:
        return set(self._crashed)

    def _event(self, kind: str, what: str) -> None:
        self.events.append((time.monotonic(), what))
        self.counts[kind] = self.counts.get(kind, 0) + 1

    # -- processes

    def pause(self, p) -> None:
        """SIGSTOP: the process is frozen, its sockets stay open (a GC
        pause, a stalled VM); peers see silence, not a closed connection."""
        with self._mu:
            if p.running and _label(p) not in self._paused:
                p.signal(signal.SIGSTOP)
                self._paused[_label(p)] = p
                self._event("pause", f"SIGSTOP {_label(p)}")

    def resume(self, p) -> None:
        with self._mu:
            if self._paused.pop(_label(p), None) is not None:
                if p.running:
                    p.signal(signal.SIGCONT)
                self._event("resume", f"SIGCONT {_label(p)}")

    def crash(self, *procs) -> None:
        """SIGKILL every one of `procs` at once (all signals sent before any
        is waited for), as a power cut would."""
        with self._mu:
            live = [p for p in procs if p.running]
            for p in live:
                os.kill(p.proc.pid, signal.SIGKILL)
            for p in live:
                p.proc.wait(timeout=10)
                if hasattr(p, "close_channel"):
                    p.close_channel()
                self._paused.pop(_label(p), None)
                self._crashed[_label(p)] = p
            if live:
                self._event("crash", f"SIGKILL {', '.join(_label(p) for p in live)}")

    def restart(self, *procs, wait: bool = True) -> None:
        """Starts crashed (or stopped) processes again, same data dir and
        config; with `wait`, until members listen and brokers are healthy."""
        with self._mu:
            for p in procs:
                if not p.running:
                    in_spawner_thread(lambda p=p: p.start(wait=False))
                self._crashed.pop(_label(p), None)
            if wait:
                for p in procs:
                    if isinstance(p, NetBroker):
                        wait_until(p.healthy, 20, f"{_label(p)} healthy after restart")
                    else:
                        p.wait_listening()
            self._event("restart", f"restart {', '.join(_label(p) for p in procs)}")

    def crash_restart(self, p, down_for: float = 0.0) -> None:
        self.crash(p)
        if down_for > 0:
            time.sleep(down_for)
        self.restart(p)

    # -- network

    def isolate(self, m: Member, from_: Optional[Iterable[Member]] = None) -> None:
        """Cuts `m` off from every other member of the cluster (or from
        `from_`), both directions."""
        assert self.net is not None, "isolate needs a NetCluster"
        others = list(from_) if from_ is not None else \
            [o for o in self.cluster.members.values() if o.id != m.id]
        self.net.partition([m.host], [o.host for o in others])
        self._event("partition", f"isolate member {m.id} from {[o.id for o in others]}")

    def cut(self, a: Member, b: Member) -> None:
        """Cuts one link, both directions (the others still talk to both)."""
        assert self.net is not None, "cut needs a NetCluster"
        self.net.partition([a.host], [b.host])
        self._event("partition", f"cut link {a.id} <-> {b.id}")

    def partition(self, side_a: Iterable, side_b: Iterable) -> None:
        """Cuts every pair between two sides (members, NetBrokers or Hosts),
        both directions: e.g. a broker from every controller."""
        assert self.net is not None, "partition needs a NetCluster"
        side_a, side_b = list(side_a), list(side_b)
        self.net.partition(side_a, side_b)
        self._event("partition", f"partition {[_label(x) for x in side_a]} | "
                                 f"{[_label(x) for x in side_b]}")

    def heal_network(self) -> None:
        if self.net is not None and self.net.rules:
            self.net.heal()
            self._event("heal", "heal network")

    def heal_all(self) -> None:
        """Undoes every fault: network healed, paused resumed, crashed restarted."""
        with self._mu:
            self.heal_network()
            for p in list(self._paused.values()):
                self.resume(p)
            crashed = list(self._crashed.values())
            if crashed:
                self.restart(*crashed)

    def timeline(self, since: float) -> list[str]:
        return [f"{t - since:7.3f}s {what}" for t, what in self.events]


# --------------------------------------------------------------------------
# The fjord CLI, timed and classified.

# Item statuses that are the controller's refusal for a reason that follows
# from the state (the op had no effect).
REFUSALS = {"TOPIC_ALREADY_EXISTS", "UNKNOWN_TOPIC"}
# Item statuses that do not say whether the op took effect.
UNKNOWN_STATUSES = {"TIMEOUT", "NOT_LEADER", "INTERNAL", "CONFLICT", "OUTCOME_UNKNOWN"}


@dataclass
class CliRun:
    argv: list
    rc: Optional[int]  # None: we killed it after the timeout
    stdout: str
    stderr: str
    invoke: float
    complete: float
    debug: str = ""  # its -v debug lines, kept out of stderr

    def items(self) -> list:
        try:
            doc = json.loads(self.stdout)
        except ValueError:
            return []
        return doc if isinstance(doc, list) else []

    def status_of(self, topic: str) -> Optional[str]:
        for it in self.items():
            if isinstance(it, dict) and it.get("topic") == topic:
                return it.get("status")
        return None

    @property
    def says_unknown(self) -> bool:
        """The CLI itself reports that the outcome is unknown (a distinct
        exit code, or words to that effect)."""
        text = (self.stdout + self.stderr).lower()
        return (self.rc not in (0, 1, 2) and self.rc is not None) or \
            "outcome unknown" in text or "unknown outcome" in text or \
            "may or may not" in text

    def outcome(self, topic: str) -> tuple[str, str]:
        """(ok|fail|unknown, code) for a write on `topic`."""
        if self.rc == 0:
            return "ok", ""
        if self.rc == 1 and not self.says_unknown:
            st = self.status_of(topic)
            if st in REFUSALS:
                return "fail", st
            if st is not None and st not in UNKNOWN_STATUSES and st not in ("OK",):
                return "fail", st
        return "unknown", self.short_error()

    def short_error(self) -> str:
        if self.rc is None:
            return "killed after timeout"
        st = [it.get("status") for it in self.items() if isinstance(it, dict)]
        err = self.stderr.strip().splitlines()[-1] if self.stderr.strip() else ""
        return f"rc={self.rc} {','.join(s for s in st if s)} {err}"[:300]


DEBUG_LINE = re.compile(r"^\d+\.\d+ DEBUG ")


def run_fjord(controllers: list[str], *args: str, timeout: float = 30.0,
              command_timeout: str = "5s", retry_timeout: str = "15s") -> CliRun:
    """Runs `fjord` against `controllers` (as an operator would, with its
    own retries), timing it. Never raises for a failing command."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FJORD_")}
    env["HOME"] = "/nonexistent"
    argv = [str(FJORD), "-X", f"controllers={','.join(controllers)}",
            "-X", f"globals.command_timeout={command_timeout}",
            "-X", f"globals.retry_timeout={retry_timeout}", *args]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        rc: Optional[int] = p.returncode
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        rc = None
    debug = [ln for ln in err.splitlines(keepends=True) if DEBUG_LINE.match(ln)]
    err = "".join(ln for ln in err.splitlines(keepends=True) if not DEBUG_LINE.match(ln))
    return CliRun(argv, rc, out, err, t0, time.monotonic(), "".join(debug))


def fault_seconds(default: float) -> float:
    """The workload duration: FJORD_FAULT_SECONDS, else `default`."""
    v = os.environ.get("FJORD_FAULT_SECONDS")
    return float(v) if v else default


def fault_seed() -> int:
    """FJORD_FAULT_SEED, else a fresh one (printed by the tests, to replay a schedule)."""
    v = os.environ.get("FJORD_FAULT_SEED")
    return int(v) if v else random.SystemRandom().randrange(1 << 31)


# --------------------------------------------------------------------------
# Fixtures (import them into a test module: `from faults import network, ...`).


@pytest.fixture
def network():
    """A fresh test Network; skips the test if namespaces cannot be made.
    Removed at teardown, pass or fail."""
    why = namespaces_unavailable()
    if why:
        pytest.skip(f"fault harness: {why}")
    remove_stale_namespaces()
    net = Network()
    try:
        net.setup()
    except Exception:
        net.teardown()
        raise
    yield net
    net.teardown()


@pytest.fixture
def net_cluster_factory(request, tmp_path, network):
    """Like conftest's cluster_factory, members in namespaces on `network`.
    Processes are killed (SIGKILL, which also ends a SIGSTOPped one) before
    the network is removed."""
    made: list[NetCluster] = []

    def make(n_founders: int = 3) -> NetCluster:
        c = NetCluster(tmp_path / f"netcluster{len(made)}", network)
        c.root.mkdir()
        c.add(range(1, n_founders + 1), founders=True)
        made.append(c)
        return c

    yield make
    failed = any(getattr(request.node, "rep_" + w, None) is not None
                 and getattr(request.node, "rep_" + w).failed for w in ("setup", "call"))
    for c in made:
        for b in c.brokers:
            try:
                b.kill()
            except Exception:  # noqa: BLE001
                pass
        c.stop_all()
        if failed:
            for m in c.members.values():
                sys.stderr.write(f"\n=== member {m.id} log tail ===\n{m.log_tail()}\n")


def describe_cluster(cluster: Cluster) -> str:
    """Each member's own view (or why it gives none), for failure messages."""
    lines = []
    for m in cluster.members.values():
        if not m.running:
            lines.append(f"  member {m.id}: not running")
            continue
        try:
            s = m.status(timeout=2.0)
            voters = sorted(x.member.id for x in s.members if x.voter)
            learners = sorted(x.member.id for x in s.members if not x.voter)
            lines.append(f"  member {m.id}: role {s.role}, leader {s.leader_id}, term {s.term}, "
                         f"commit {s.commit_index}, applied {s.applied_index}, voters {voters}, "
                         f"learners {learners}")
        except Exception as e:  # noqa: BLE001
            lines.append(f"  member {m.id}: Status failed: {e}")
    return "\n".join(lines)


def wait_for_leader_or_explain(cluster: Cluster, timeout: float, **kw):
    """cluster.wait_for_leader, failing with every member's view."""
    try:
        return cluster.wait_for_leader(timeout=timeout, **kw)
    except AssertionError as e:
        raise AssertionError(f"{e}\n{describe_cluster(cluster)}") from None
