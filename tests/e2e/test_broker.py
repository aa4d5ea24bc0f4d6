"""fjord-broker with real Kafka clients nobody here wrote (kcat, kafka-python),
against a real 3-member controller group: metadata, produce and consume,
topics created and deleted through the controller, durability across a
SIGKILL during acks=all produce, and hostile bytes on the wire.

Every process is started by the fixtures (conftest.spawn) on loopback ports
chosen free, and stopped by pid at teardown.
"""

from __future__ import annotations

import socket
import struct
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from conftest import (Broker, Cluster, fjord, free_port, kcat, make_broker, pb, produce_request,
                      read_response, record_batch, wait_until)

def test_kcat_metadata_produce_consume(cluster: Cluster, broker: Broker):
    fjord(cluster, "topic", "create", "events", "-p", "3", "--wait=15s")
    md = kcat("-b", broker.bootstrap, "-L", "-t", "events")
    assert md.returncode == 0, md.stderr
    assert f"broker {broker.id} at {broker.bootstrap}" in md.stdout
    assert 'topic "events" with 3 partitions' in md.stdout
    for p in range(3):
        # Until replication lands, the ISR is honestly the leader alone.
        assert f"partition {p}, leader {broker.id}, replicas: {broker.id}, isrs: {broker.id}" \
            in md.stdout

    lines = [f"key{i}:value-{i}" for i in range(30)]
    prod = kcat("-b", broker.bootstrap, "-P", "-t", "events", "-K:", stdin="\n".join(lines) + "\n")
    assert prod.returncode == 0, prod.stderr
    cons = kcat("-b", broker.bootstrap, "-C", "-t", "events", "-o", "beginning", "-e",
                "-f", "%p %o %k %s\n")
    assert cons.returncode == 0, cons.stderr
    got = [line.split() for line in cons.stdout.splitlines() if line.strip()]
    assert sorted(f"{k}:{v}" for _, _, k, v in got) == sorted(lines)
    # Offsets are dense from 0 in every partition, in produce order per key.
    by_partition: dict[str, list[int]] = {}
    for p, o, _, _ in got:
        by_partition.setdefault(p, []).append(int(o))
    for offsets in by_partition.values():
        assert offsets == list(range(len(offsets)))
    # The same key always lands in the same partition.
    parts = {}
    for p, _, k, _ in got:
        parts.setdefault(k, set()).add(p)
    assert all(len(v) == 1 for v in parts.values())


def test_kafka_python_acks_all_and_assigned_consumer(cluster: Cluster, broker: Broker):
    fjord(cluster, "topic", "create", "py", "-p", "2", "--wait=15s")
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5)
    metas = [producer.send("py", key=b"k%d" % (i % 4), value=b"v%d" % i) for i in range(200)]
    acked = [m.get(timeout=20) for m in metas]
    producer.close()
    assert {m.topic for m in acked} == {"py"}
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    tps = [TopicPartition("py", p) for p in range(2)]
    consumer.assign(tps)
    consumer.seek_to_beginning()
    records = list(consumer)
    ends = consumer.end_offsets(tps)
    consumer.close()
    assert sorted(r.value for r in records) == sorted(b"v%d" % i for i in range(200))
    for m in acked:  # every acknowledged offset holds that record
        assert any(r.partition == m.partition and r.offset == m.offset for r in records)
    assert sum(ends.values()) == 200


def test_topic_lifecycle_through_the_controller(cluster: Cluster, broker: Broker):
    """A topic created with fjord --wait is usable at once; after
    fjord topic delete --wait, clients get UNKNOWN_TOPIC_OR_PARTITION."""
    fjord(cluster, "topic", "create", "short-lived", "-p", "1", "--wait=15s")
    prod = kcat("-b", broker.bootstrap, "-P", "-t", "short-lived", stdin="one\ntwo\n")
    assert prod.returncode == 0, prod.stderr
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    assert producer.send("short-lived", b"three").get(timeout=10).offset == 2
    producer.close()
    brokers = f"brokers={broker.bootstrap}"
    rd = fjord(cluster, "-X", brokers, "topic", "produce", "short-lived", stdin="four\n")
    assert "at offset 3" in rd.stdout, rd.stdout  # librdkafka, through fjord
    data_dirs = list((broker.dir / "data" / "topics").iterdir())
    assert len(data_dirs) == 1
    topic_dir = data_dirs[0]
    fjord(cluster, "topic", "delete", "short-lived", "--wait=15s")

    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    assert consumer.partitions_for_topic("short-lived") is None
    consumer.close()
    md = kcat("-b", broker.bootstrap, "-L", "-t", "short-lived")
    assert "Broker: Unknown topic or partition" in md.stdout + md.stderr
    rd = fjord(cluster, "-X", brokers, "topic", "consume", "short-lived", "-o", ":end",
               check=False)
    assert rd.returncode == 1 and "Unknown topic or partition" in rd.stderr, rd.stderr
    wait_until(lambda: not topic_dir.exists(), 10, "the deleted topic's data to be removed")

    # The same name again is a new topic: the old records do not come back.
    fjord(cluster, "topic", "create", "short-lived", "-p", "1", "--wait=15s")
    cons = kcat("-b", broker.bootstrap, "-C", "-t", "short-lived", "-o", "beginning", "-e")
    assert cons.returncode == 0 and cons.stdout.strip() == "", cons.stdout


@pytest.mark.timeout(120)
def test_sigkill_during_acks_all_produce_loses_no_acknowledged_record(cluster: Cluster,
                                                                      broker: Broker):
    fjord(cluster, "topic", "create", "durable", "-p", "1", "--wait=15s")
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", retries=0,
                             max_in_flight_requests_per_connection=1, linger_ms=0,
                             request_timeout_ms=2000, max_block_ms=2000)
    acked: list[tuple[int, bytes]] = []
    deadline = time.monotonic() + 1.5
    i = 0
    while time.monotonic() < deadline:
        try:
            m = producer.send("durable", b"r%06d" % i).get(timeout=5)
            acked.append((m.offset, b"r%06d" % i))
        except KafkaError:
            break
        i += 1
    broker.kill()
    for _ in range(20):  # sends in flight at the kill are not acknowledged
        try:
            producer.send("durable", b"after-kill").get(timeout=1)
        except KafkaError:
            pass
    producer.close(timeout=1)
    assert len(acked) > 50
    broker.start()
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=3000)
    tp = TopicPartition("durable", 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    stored = {r.offset: r.value for r in consumer}
    consumer.close()
    for offset, value in acked:
        assert stored.get(offset) == value, f"acknowledged offset {offset} lost or changed"
    assert sorted(stored)[: len(acked)] == list(range(len(acked)))


def test_hostile_bytes_close_one_connection_and_corrupt_batches_are_refused(
        cluster: Cluster, broker: Broker):
    fjord(cluster, "topic", "create", "guarded", "-p", "1", "--wait=15s")
    bad_inputs = {
        "garbage header": struct.pack(">i", 12) + b"\xde\xad\xbe\xef" * 3,
        "oversized frame": struct.pack(">i", 200 << 20),
        "negative size": struct.pack(">i", -5),
        "truncated body": produce_request("guarded", record_batch(b"x"))[:-10] +
                          b"",  # then the client goes away
        "unsupported version": struct.pack(">i", 10) + struct.pack(">hhi", 0, 99, 1) +
                               struct.pack(">h", -1),
    }
    for label, data in bad_inputs.items():
        with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as s:
            s.sendall(data)
            if label == "truncated body":
                continue
            s.settimeout(5)
            assert s.recv(1) == b"", f"{label}: connection not closed"
    # A batch whose CRC does not match is refused with CORRUPT_MESSAGE (2).
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as s:
        s.sendall(produce_request("guarded", record_batch(b"bad", crc_ok=False)))
        resp = read_response(s)
        assert struct.unpack(">i", resp[:4])[0] == 7  # correlation id
        # topics[1] name partitions[1] index error_code
        off = 4 + 4 + 2 + len("guarded") + 4 + 4
        assert struct.unpack(">h", resp[off:off + 2])[0] == 2
        s.sendall(produce_request("guarded", record_batch(b"good"), correlation=8))
        resp = read_response(s)
        assert struct.unpack(">h", resp[off:off + 2])[0] == 0
    # The broker kept serving, and the log holds only the good record.
    cons = kcat("-b", broker.bootstrap, "-C", "-t", "guarded", "-o", "beginning", "-e")
    assert cons.returncode == 0, cons.stderr
    assert cons.stdout.split() == ["good"]
    assert broker.proc.poll() is None


def test_partitions_led_elsewhere_are_not_served_here(cluster: Cluster, broker: Broker):
    """A second broker record (no process) leads some partitions: this
    broker answers NOT_LEADER_OR_FOLLOWER for them and serves its own."""
    r = cluster.call("RegisterBroker", pb.RegisterBrokerRequest(broker=make_broker(
        2, incarnation="00000000-0000-4000-8000-000000000002", port=free_port())))
    assert r.result.code == pb.OK, r.result
    fjord(cluster, "topic", "create", "split", "-p", "4", "-r", "1")
    wait_until(lambda: kcat("-b", broker.bootstrap, "-L", "-t", "split").stdout.count(
        ", leader ") == 4, 10, "metadata for split")
    md = kcat("-b", broker.bootstrap, "-L", "-t", "split").stdout
    mine = [p for p in range(4) if f"partition {p}, leader {broker.id}," in md]
    theirs = [p for p in range(4) if f"partition {p}, leader 2," in md]
    assert mine and theirs, md
    ok = kcat("-b", broker.bootstrap, "-P", "-t", "split", "-p", str(mine[0]), stdin="here\n")
    assert ok.returncode == 0, ok.stderr
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as s:
        batch = record_batch(b"elsewhere")
        req = produce_request("split", batch)
        # Rewrite the partition index (last int32 before the records size).
        idx = req.index(struct.pack(">i", len(batch)) + batch) - 4
        req = req[:idx] + struct.pack(">i", theirs[0]) + req[idx + 4:]
        s.sendall(req)
        resp = read_response(s)
        off = 4 + 4 + 2 + len("split") + 4 + 4
        assert struct.unpack(">h", resp[off:off + 2])[0] == 6  # NOT_LEADER_OR_FOLLOWER


def fetch_request(topic: str, offset: int, max_wait_ms: int, correlation: int = 9) -> bytes:
    """A hand-made Fetch v4 request for partition 0 of `topic`."""
    body = struct.pack(">iiiib", -1, max_wait_ms, 1, 1 << 20, 0)  # replica, wait, min, max, iso
    body += struct.pack(">i", 1) + struct.pack(">h", len(topic)) + topic.encode()
    body += struct.pack(">i", 1) + struct.pack(">iqi", 0, offset, 1 << 20)
    header = struct.pack(">hhi", 1, 4, correlation) + struct.pack(">h", 4) + b"test"
    msg = header + body
    return struct.pack(">i", len(msg)) + msg


def test_fetch_long_poll_returns_when_data_arrives(cluster: Cluster, broker: Broker):
    """A Fetch with min_bytes 1 on an empty partition waits (it does not
    answer empty at once), and answers with the data as soon as a produce
    brings some, well before its max_wait_ms."""
    fjord(cluster, "topic", "create", "poll", "-p", "1", "--wait=15s")
    with socket.create_connection(("127.0.0.1", broker.port), timeout=20) as s:
        t0 = time.monotonic()
        s.sendall(fetch_request("poll", 0, max_wait_ms=10000))
        s.settimeout(0.5)
        with pytest.raises(socket.timeout):
            s.recv(1)  # parked: nothing to say yet
        prod = kcat("-b", broker.bootstrap, "-P", "-t", "poll", stdin="arrived\n")
        assert prod.returncode == 0, prod.stderr
        s.settimeout(20)
        resp = read_response(s)
        elapsed = time.monotonic() - t0
    assert struct.unpack(">i", resp[:4])[0] == 9
    assert b"arrived" in resp
    assert elapsed < 9, f"answered after {elapsed:.1f}s: the poll did not end on the produce"


def broker_port_at_controller(cluster: Cluster, broker_id: int) -> tuple[int, bool] | None:
    """(Kafka port, alive) of `broker_id` as the leader sees it, or None."""
    r = cluster.call("ListBrokers", pb.ListBrokersRequest())
    for item in r.brokers:
        if item.broker.id == broker_id:
            ports = [ep.port for ep in item.broker.endpoints if ep.name == "kafka"]
            return (ports[0] if ports else 0), item.alive
    return None


@pytest.mark.timeout(120)
def test_a_cleanly_stopped_broker_frees_its_id_for_its_successor(cluster_factory, tmp_path):
    """Kafka's controlled shutdown: a broker stopped by SIGTERM tells the
    controller it is leaving, so the next process with its node_id (here on
    another port, with another data dir) registers at once, not after
    broker_session_timeout (60 s here), and clients are sent to it. A
    SIGKILLed broker says nothing: its id stays held until the timeout, so
    that two live processes never share one."""
    c = cluster_factory(3)
    for m in c.members.values():
        m.extra_yaml = ["broker_session_timeout_ms: 60000"]
    c.start()
    c.wait_for_leader(timeout=15)
    first = Broker(c, tmp_path / "first")
    first.start()
    wait_until(lambda: broker_port_at_controller(c, 1) == (first.port, True), 15,
               "the first broker registered")
    fjord(c, "topic", "create", "moves", "-p", "1", "--wait=15s")
    first.stop()
    assert first.proc.returncode == 0, first.log()
    assert "left the cluster" in first.log(), first.log()

    second = Broker(c, tmp_path / "second")
    assert second.port != first.port
    started = time.monotonic()
    second.start()
    wait_until(lambda: broker_port_at_controller(c, 1) == (second.port, True), 20,
               "the successor registered in the leaver's place")
    assert time.monotonic() - started < 30, "registered only after the session timeout"
    md = kcat("-b", second.bootstrap, "-L", "-t", "moves")
    assert f"broker 1 at {second.bootstrap}" in md.stdout, md.stdout
    prod = kcat("-b", second.bootstrap, "-P", "-t", "moves", stdin="after the move\n")
    assert prod.returncode == 0, prod.stderr
    cons = kcat("-b", second.bootstrap, "-C", "-t", "moves", "-o", "beginning", "-e")
    assert cons.stdout.splitlines() == ["after the move"], cons.stdout

    # SIGKILL: nothing is said, so the id stays held by the dead incarnation.
    second.kill()
    third = Broker(c, tmp_path / "third")
    third.start()
    wait_until(lambda: "held by a live process" in third.log(), 15,
               "the third broker refused while the killed one's session lasts")
    assert broker_port_at_controller(c, 1) == (second.port, True)
    third.stop()
