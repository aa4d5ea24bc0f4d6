"""librdkafka's balanced consumer groups (its C++ API, through
tests/clients/rdkafka_client) against fjord-broker's group coordinator: two
members share a topic's partitions, the survivor takes them all when one
leaves, and committed offsets let a restarted member go on where the group
stopped.

Every process is started here or by the fixtures, on loopback, and stopped
by pid.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading

from conftest import BUILD_DIR, Broker, Cluster, fjord, wait_until

RDKAFKA_CLIENT = BUILD_DIR / "bin" / "rdkafka_client"


class Member:
    """One rdkafka_client consumer in a group; its JSON events as they come."""

    def __init__(self, broker: Broker, topic: str, group: str, *extra: str):
        self.events: list[dict] = []
        self.proc = subprocess.Popen(
            [str(RDKAFKA_CLIENT), "consume", "--bootstrap", broker.bootstrap, "--topic", topic,
             "--group", group, "--timeout-s", "120", "--records",
             "--set", "session.timeout.ms=6000", "--set", "heartbeat.interval.ms=500", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip():
                self.events.append(json.loads(line))

    def assignment(self) -> list[int] | None:
        """Partitions of the last assignment, [] after a revoke, None before any."""
        for e in reversed(self.events):
            if e["event"] == "assigned":
                return e["partitions"]
            if e["event"] == "revoked":
                return []
        return None

    def values(self) -> list[str]:
        return [e["value"] for e in self.events if e["event"] == "record"]

    def stop(self) -> None:
        """SIGTERM: the client closes its consumer, which leaves the group."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._reader.join(timeout=10)


def produce(broker: Broker, topic: str, n: int, size: int = 16) -> None:
    """n records "<i>:xxx…" of `size` bytes (sizes tell runs apart)."""
    p = subprocess.run([str(RDKAFKA_CLIENT), "produce", "--bootstrap", broker.bootstrap,
                        "--topic", topic, "--count", str(n), "--size", str(size)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def test_two_members_share_partitions_and_the_survivor_takes_all(cluster: Cluster,
                                                                 broker: Broker):
    fjord(cluster, "topic", "create", "shared", "-p", "4", "--wait=15s")
    a = Member(broker, "shared", "g1")
    b = None
    try:
        wait_until(lambda: a.assignment() == [0, 1, 2, 3], 30, "member A to own all 4")
        b = Member(broker, "shared", "g1")
        wait_until(lambda: a.assignment() and b.assignment()
                   and sorted(a.assignment() + b.assignment()) == [0, 1, 2, 3], 40,
                   "the group to rebalance over both members")
        assert set(a.assignment()).isdisjoint(b.assignment())
        produce(broker, "shared", 200)
        wait_until(lambda: len(a.values()) + len(b.values()) >= 200, 30,
                   "the group to consume every record")
        assert len(a.values()) > 0 and len(b.values()) > 0
        b.stop()
        wait_until(lambda: a.assignment() == [0, 1, 2, 3], 40,
                   "member A to take every partition after B left")
        produce(broker, "shared", 50, size=20)
        wait_until(lambda: {v for v in a.values() if len(v) == 20} ==
                   {f"{i}:".ljust(20, "x") for i in range(50)}, 30,
                   "A to consume the later records of every partition")
        # At least once: every record of the first run reached one member.
        first_run = {v for v in a.values() + b.values() if len(v) == 16}
        assert first_run == {f"{i}:".ljust(16, "x") for i in range(200)}
    finally:
        a.stop()
        if b is not None:
            b.stop()


def test_committed_offsets_let_a_restarted_member_resume(cluster: Cluster, broker: Broker):
    fjord(cluster, "topic", "create", "resume", "-p", "2", "--wait=15s")
    produce(broker, "resume", 100)
    first = Member(broker, "resume", "g2", "--count", "100")
    first.proc.wait(timeout=60)
    first.stop()
    assert first.proc.returncode == 0 and len(first.values()) == 100
    produce(broker, "resume", 30)
    second = Member(broker, "resume", "g2", "--count", "30", "--idle-s", "5")
    second.proc.wait(timeout=60)
    second.stop()
    # Only the new records: the group's commits said where the first stopped.
    assert sorted(int(v.split(":")[0]) for v in second.values()) == list(range(30))
