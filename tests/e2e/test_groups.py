"""Consumer groups on fjord-broker with real clients nobody here wrote:
kafka-python consumers sharing a topic's partitions and handing them over,
committed offsets that survive a consumer restart and a broker SIGKILL,
kcat's balanced consumer (librdkafka), the admin client's ListGroups and
DescribeGroups, and hand-made requests that get Kafka's errors.

Every process is started by the fixtures (conftest.spawn) on loopback ports
chosen free, and stopped by pid at teardown.
"""

from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from kafka.protocol.commit import (GroupCoordinatorRequest, OffsetCommitRequest,
                                   OffsetFetchRequest)
from kafka.protocol.group import HeartbeatRequest, JoinGroupRequest, SyncGroupRequest
from kafka.protocol.parser import KafkaProtocol

from conftest import (Broker, Cluster, fjord, kcat, produce_request, read_response, record_batch,
                      wait_until)

# Short enough to keep the tests quick, long enough that consumers started
# together share the first generation.
REBALANCE_DELAY_MS = 500


def start_broker(cluster: Cluster, root: Path) -> Broker:
    b = Broker(cluster, root)
    with open(b.dir / "broker.yaml", "a", encoding="utf-8") as f:
        f.write(f"group:\n  initial_rebalance_delay_ms: {REBALANCE_DELAY_MS}\n")
    b.start()
    return b


@pytest.fixture
def gbroker(cluster: Cluster, tmp_path: Path):
    b = start_broker(cluster, tmp_path)
    yield b
    b.stop()


def produce(broker: Broker, topic: str, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5)
    futures = [producer.send(topic, key=v, value=v) for v in values]
    for f in futures:
        f.get(timeout=20)
    producer.close()


def consumer_config(broker: Broker, group: str, **extra) -> dict:
    cfg = dict(bootstrap_servers=broker.bootstrap, group_id=group, auto_offset_reset="earliest",
               enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=500,
               max_poll_interval_ms=20000, request_timeout_ms=30000, client_id=f"{group}-client")
    cfg.update(extra)
    return cfg


class PollingConsumer(threading.Thread):
    """A kafka-python consumer that polls in its own thread (a consumer is not
    thread-safe, and a rebalance needs every member polling), closing (and so
    leaving the group) when asked."""

    def __init__(self, name: str, topic: str, cfg: dict):
        super().__init__(name=name, daemon=True)
        self.topic = topic
        self.cfg = cfg
        self.assignment: set[int] = set()
        self.records: list = []
        self.error: BaseException | None = None
        self._stop_event = threading.Event()
        self._commit = threading.Event()
        self._committed = threading.Event()
        self.mu = threading.Lock()

    def run(self) -> None:
        try:
            consumer = KafkaConsumer(**self.cfg)
            consumer.subscribe([self.topic])
            try:
                while not self._stop_event.is_set():
                    batch = consumer.poll(timeout_ms=100)
                    with self.mu:
                        for rs in batch.values():
                            self.records.extend(rs)
                        self.assignment = {tp.partition for tp in consumer.assignment()}
                    if self._commit.is_set():
                        consumer.commit()
                        self._commit.clear()
                        self._committed.set()
            finally:
                consumer.close()  # LeaveGroup
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = e

    def partitions(self) -> set[int]:
        self.check()
        with self.mu:
            return set(self.assignment)

    def values(self) -> list[bytes]:
        with self.mu:
            return [r.value for r in self.records]

    def commit(self, timeout: float = 20) -> None:
        self._committed.clear()
        self._commit.set()
        assert self._committed.wait(timeout), f"{self.name}: commit did not complete"
        self.check()

    def close(self, timeout: float = 20) -> None:
        self._stop_event.set()
        self.join(timeout)
        assert not self.is_alive(), f"{self.name} did not close"
        self.check()

    def check(self) -> None:
        if self.error is not None:
            raise AssertionError(f"{self.name} failed: {self.error!r}") from self.error


def test_two_consumers_share_partitions_and_hand_them_over(cluster: Cluster, gbroker: Broker):
    fjord(cluster, "topic", "create", "shared", "-p", "4", "--wait=15s")
    values = [b"v%03d" % i for i in range(60)]
    produce(gbroker, "shared", values)

    a = PollingConsumer("a", "shared", consumer_config(gbroker, "sharing"))
    b = PollingConsumer("b", "shared", consumer_config(gbroker, "sharing"))
    a.start()
    b.start()
    try:
        # One generation with both: each holds part, together all four.
        wait_until(lambda: a.partitions() and b.partitions()
                   and a.partitions() | b.partitions() == {0, 1, 2, 3}
                   and not a.partitions() & b.partitions(), 40, "both consumers assigned")
        wait_until(lambda: set(a.values()) | set(b.values()) == set(values), 30,
                   "every record consumed by one of the two")
        # Each read only its own partitions.
        for c in (a, b):
            with c.mu:
                assert {r.partition for r in c.records} <= c.assignment
        # b leaves (LeaveGroup on close): a rebalances to all four.
        b.close()
        wait_until(lambda: a.partitions() == {0, 1, 2, 3}, 40, "a to take every partition")
    finally:
        for c in (a, b):
            if c.is_alive():
                c.close()
    assert {r.partition for r in b.records} <= {0, 1, 2, 3}


def committed(broker: Broker, group: str) -> dict[int, int]:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=20000)
    try:
        offsets = admin.list_consumer_group_offsets(group)
    finally:
        admin.close()
    return {tp.partition: om.offset for tp, om in offsets.items()}


def consume_and_commit(broker: Broker, group: str, topic: str, expect: int) -> list[bytes]:
    """Reads `expect` records with a subscribed consumer, commits, closes."""
    c = PollingConsumer(f"{group}-reader", topic, consumer_config(broker, group))
    c.start()
    try:
        wait_until(lambda: len(c.values()) >= expect, 40, f"{expect} records in {group}")
        c.commit()
    finally:
        c.close()
    return c.values()


@pytest.mark.timeout(180)
def test_committed_offsets_survive_a_consumer_restart_and_a_broker_sigkill(
        cluster: Cluster, tmp_path: Path):
    broker = start_broker(cluster, tmp_path)
    try:
        fjord(cluster, "topic", "create", "ledger", "-p", "2", "--wait=15s")
        first = [b"first-%02d" % i for i in range(20)]
        produce(broker, "ledger", first)
        got = consume_and_commit(broker, "accounting", "ledger", 20)
        assert sorted(got) == sorted(first)
        ends = {p: n for p, n in committed(broker, "accounting").items()}
        assert sum(ends.values()) == 20, ends

        # A restarted consumer starts where the group committed.
        second = [b"second-%02d" % i for i in range(10)]
        produce(broker, "ledger", second)
        got = consume_and_commit(broker, "accounting", "ledger", 10)
        assert sorted(got) == sorted(second)
        before = committed(broker, "accounting")
        assert sum(before.values()) == 30, before

        # A crash of the broker loses no acknowledged commit.
        broker.kill()
        broker.start()
        def reloaded():
            try:  # COORDINATOR_LOAD_IN_PROGRESS while the log is replayed
                return committed(broker, "accounting")
            except KafkaError:
                return None

        after = wait_until(reloaded, 30, "the offsets after the restart")
        assert after == before
        third = [b"third-%02d" % i for i in range(5)]
        produce(broker, "ledger", third)
        got = consume_and_commit(broker, "accounting", "ledger", 5)
        assert sorted(got) == sorted(third), "a consumer after the crash re-read committed records"
    finally:
        broker.stop()


def test_kcat_balanced_consumer_reads_what_was_produced(cluster: Cluster, gbroker: Broker):
    fjord(cluster, "topic", "create", "kc", "-p", "3", "--wait=15s")
    lines = [f"line-{i}" for i in range(30)]
    prod = kcat("-b", gbroker.bootstrap, "-P", "-t", "kc", stdin="\n".join(lines) + "\n")
    assert prod.returncode == 0, prod.stderr

    def balanced() -> list[str]:
        # -G: librdkafka's balanced consumer (FindCoordinator v2, JoinGroup
        # v5 with KIP-394's member id round trip, SyncGroup v3, OffsetFetch
        # v7, OffsetCommit v7 when it closes); -e exits at the end of every
        # assigned partition.
        r = kcat("-b", gbroker.bootstrap, "-G", "kgroup", "-X", "auto.offset.reset=earliest",
                 "-e", "-q", "-f", "%s\n", "kc", timeout=60)
        assert r.returncode == 0, r.stderr
        return [line for line in r.stdout.splitlines() if line]

    assert sorted(balanced()) == sorted(lines)
    # The group committed its position when kcat closed: nothing is read twice.
    assert sum(committed(gbroker, "kgroup").values()) == 30
    more = [f"more-{i}" for i in range(6)]
    prod = kcat("-b", gbroker.bootstrap, "-P", "-t", "kc", stdin="\n".join(more) + "\n")
    assert prod.returncode == 0, prod.stderr
    assert sorted(balanced()) == sorted(more)


def test_admin_client_lists_and_describes_groups(cluster: Cluster, gbroker: Broker):
    fjord(cluster, "topic", "create", "watched", "-p", "2", "--wait=15s")
    produce(gbroker, "watched", [b"x", b"y"])
    c = PollingConsumer("watcher", "watched", consumer_config(gbroker, "watchers"))
    c.start()
    admin = KafkaAdminClient(bootstrap_servers=gbroker.bootstrap, request_timeout_ms=20000)
    try:
        wait_until(lambda: c.partitions() == {0, 1}, 40, "the watcher assigned")
        assert ("watchers", "consumer") in admin.list_consumer_groups()

        def stable():
            d = admin.describe_consumer_groups(["watchers"])[0]
            return d if d.state == "Stable" else None

        d = wait_until(stable, 20, "the group Stable")
        assert d.group == "watchers" and d.protocol_type == "consumer"
        assert d.protocol in ("range", "roundrobin")
        assert len(d.members) == 1
        m = d.members[0]
        assert m.client_id == "watchers-client" and m.client_host == "/127.0.0.1"
        assert m.member_id.startswith("watchers-client-")
        assert sorted(m.member_metadata.subscription) == ["watched"]
        assert sorted(p for _, ps in m.member_assignment.assignment for p in ps) == [0, 1]
        c.commit()
        c.close()
        # Without members, a group with offsets stays, Empty.
        d = wait_until(lambda: (lambda g: g if g.state == "Empty" else None)(
            admin.describe_consumer_groups(["watchers"])[0]), 20, "the group Empty")
        assert d.members == []
        assert admin.describe_consumer_groups(["nobody"])[0].state == "Dead"
    finally:
        if c.is_alive():
            c.close()
        admin.close()


class RawClient:
    """Hand-made requests (kafka-python's codec, our socket): for errors that
    real consumers never provoke."""

    def __init__(self, broker: Broker):
        self.sock = socket.create_connection(("127.0.0.1", broker.port), timeout=10)
        self.proto = KafkaProtocol(client_id="raw")

    def call(self, request):
        self.proto.send_request(request)
        self.sock.sendall(self.proto.send_bytes())
        while True:
            size = self.sock.recv(4, socket.MSG_WAITALL)
            assert len(size) == 4, "connection closed"
            body = self.sock.recv(struct.unpack(">i", size)[0], socket.MSG_WAITALL)
            responses = self.proto.receive_bytes(size + body)
            if responses:
                return responses[0][1]

    def find_coordinator_v1(self, key: str, key_type: int) -> tuple[int, str]:
        """FindCoordinator v1 by hand: kafka-python's v1 response schema lacks
        throttle_time_ms (its clients only send v0). Returns (error, message)."""
        body = struct.pack(">h", len(key)) + key.encode() + struct.pack(">b", key_type)
        header = struct.pack(">hhih", 10, 1, 99, 3) + b"raw"
        msg = header + body
        self.sock.sendall(struct.pack(">i", len(msg)) + msg)
        size = struct.unpack(">i", self.sock.recv(4, socket.MSG_WAITALL))[0]
        resp = self.sock.recv(size, socket.MSG_WAITALL)
        corr, _throttle, error, mlen = struct.unpack(">iihh", resp[:12])
        assert corr == 99
        message = resp[12:12 + mlen].decode() if mlen >= 0 else ""
        return error, message

    def close(self):
        self.sock.close()


def test_bad_group_requests_get_kafkas_errors_and_the_connection_lives(
        cluster: Cluster, gbroker: Broker):
    fjord(cluster, "topic", "create", "t", "-p", "1", "--wait=15s")
    raw = RawClient(gbroker)
    try:
        # The first FindCoordinator has __consumer_offsets created; until it
        # is, COORDINATOR_NOT_AVAILABLE (15), which clients retry.
        first = raw.call(GroupCoordinatorRequest[0]("probe"))
        assert first.error_code in (0, 15)
        found = wait_until(lambda: (lambda r: r if r.error_code == 0 else None)(
            raw.call(GroupCoordinatorRequest[0]("probe"))), 30, "a coordinator")
        assert (found.coordinator_id, found.port) == (gbroker.id, gbroker.port)
        # Transactions have no coordinator here: INVALID_REQUEST (42) saying so.
        error, message = raw.find_coordinator_v1("tx", key_type=1)
        assert error == 42 and "transaction" in message, message

        def join(group, session_ms, member_id="", protocols=(("range", b"m"),)):
            return raw.call(JoinGroupRequest[2](group, session_ms, 10000, member_id, "consumer",
                                                list(protocols)))

        assert join("", 10000).error_code == 24          # INVALID_GROUP_ID
        assert join("probe", 1000).error_code == 26      # INVALID_SESSION_TIMEOUT
        assert join("probe", 10_000_000).error_code == 26
        assert join("probe", 10000, protocols=()).error_code == 23  # INCONSISTENT_GROUP_PROTOCOL
        assert join("probe", 10000, member_id="ghost").error_code == 25  # UNKNOWN_MEMBER_ID
        # Sync and heartbeat before joining: the member is unknown.
        assert raw.call(SyncGroupRequest[1]("never", 0, "m-1", [])).error_code == 25
        assert raw.call(HeartbeatRequest[1]("never", 0, "m-1")).error_code == 25
        # A commit in a generation of a group that does not exist.
        commit = raw.call(OffsetCommitRequest[2]("never", 3, "m-1", -1, [("t", [(0, 5, "")])]))
        assert commit.topics[0][1][0][1] == 22  # ILLEGAL_GENERATION
        # An unknown topic, metadata over 4096 bytes, and a good commit from
        # outside group management, in one request: each its own answer.
        commit = raw.call(OffsetCommitRequest[2](
            "loner", -1, "", -1, [("t", [(0, 5, "ok"), (7, 1, "")]), ("no-such", [(0, 1, "")]),
                                  ("t", [(0, 6, "x" * 4097)])]))
        codes = [(t, p, e) for t, ps in commit.topics for p, e in ps]
        assert codes == [("t", 0, 0), ("t", 7, 3), ("no-such", 0, 3), ("t", 0, 12)]
        fetched = raw.call(OffsetFetchRequest[1]("loner", [("t", [0, 1])]))
        assert fetched.topics[0][1] == [(0, 5, "ok", 0), (1, -1, "", 0)]
        # One member joins for real (v2: no member id round trip) and syncs.
        joined = wait_until(lambda: (lambda r: r if r.error_code == 0 else None)(
            join("probe", 10000)), 10, "the join")
        assert joined.leader_id == joined.member_id and joined.generation_id == 1
        synced = raw.call(SyncGroupRequest[1]("probe", 1, joined.member_id,
                                              [(joined.member_id, b"mine")]))
        assert (synced.error_code, synced.member_assignment) == (0, b"mine")
        assert raw.call(HeartbeatRequest[1]("probe", 1, joined.member_id)).error_code == 0
        assert raw.call(HeartbeatRequest[1]("probe", 2, joined.member_id)).error_code == 22
        wrong_gen = raw.call(OffsetCommitRequest[2]("probe", 7, joined.member_id, -1,
                                                    [("t", [(0, 1, "")])]))
        assert wrong_gen.topics[0][1][0][1] == 22
        assert gbroker.proc.poll() is None
    finally:
        raw.close()


def test_clients_cannot_produce_to_the_offsets_topic(broker: Broker):
    """__consumer_offsets is the coordinator's: a client's write is refused
    with INVALID_TOPIC_EXCEPTION, as Kafka does, and nothing is appended."""
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as s:
        s.sendall(produce_request("__consumer_offsets", record_batch(b"forged")))
        resp = read_response(s)
    n = struct.unpack(">h", resp[8:10])[0]
    _index, error = struct.unpack(">ih", resp[10 + n + 4:10 + n + 10])
    assert error == 17


def test_the_offsets_topic_is_internal_to_the_kafka_api(cluster: Cluster, broker: Broker):
    """Metadata marks __consumer_offsets internal; admin requests cannot
    delete, grow or reconfigure it."""
    from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions
    fjord(cluster, "topic", "create", "internal-check", "-p", "1", "--wait=15s")
    consumer = KafkaConsumer("internal-check", bootstrap_servers=broker.bootstrap,
                             group_id="makes-the-offsets-topic")
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        # The group's first FindCoordinator has the offsets topic created.
        wait_until(lambda: consumer.poll(timeout_ms=200) is not None
                   and "__consumer_offsets" in admin.list_topics(), 30, "the offsets topic")
        consumer.close()
        md = admin._client.cluster  # noqa: SLF001  (kafka-python keeps the flag here)
        admin._client.poll(future=admin._client.cluster.request_update())
        assert "__consumer_offsets" in md.internal_topics
        with pytest.raises(KafkaError, match="Error 42"):  # INVALID_REQUEST
            admin.delete_topics(["__consumer_offsets"], timeout_ms=5000)
        with pytest.raises(KafkaError, match="Error 42"):
            admin.create_partitions({"__consumer_offsets": NewPartitions(total_count=40)})
        r = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "__consumer_offsets",
                                                configs={"retention.ms": "1000"})])
        assert r.resources[0][0] == 42, r  # kafka-python returns, not raises, here
    finally:
        admin.close()
    assert "__consumer_offsets" in fjord(cluster, "topic", "list", "-i").stdout
