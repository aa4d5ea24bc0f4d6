"""Idempotent producers against fjord-broker: librdkafka's idempotent
producer end to end, and the broker's rules on the wire (a retried batch is
written once and answered with its first offsets, a gap in sequences and a
fenced epoch are refused), including after a SIGKILL of the broker.

Every process is started by the fixtures on loopback and stopped by pid.
"""

from __future__ import annotations

import json
import socket
import struct
import subprocess

from conftest import (BUILD_DIR, Broker, Cluster, fjord, kcat, produce_request, read_response,
                      record_batch)

RDKAFKA_CLIENT = BUILD_DIR / "bin" / "rdkafka_client"

OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47


def rdkafka(*args: str, timeout: float = 60) -> list[dict]:
    p = subprocess.run([str(RDKAFKA_CLIENT), *args], capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode == 0, f"rdkafka_client {' '.join(args)}: {p.stdout}\n{p.stderr}"
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def init_producer_id(s: socket.socket) -> tuple[int, int]:
    """InitProducerId v0 with no transactional id: (producer id, epoch)."""
    body = struct.pack(">hi", -1, 60000)
    header = struct.pack(">hhi", 22, 0, 11) + struct.pack(">h", 4) + b"test"
    s.sendall(struct.pack(">i", len(header + body)) + header + body)
    resp = read_response(s)
    corr, _throttle, error, pid, epoch = struct.unpack(">iihqh", resp[:20])
    assert corr == 11 and error == 0, f"InitProducerId error {error}"
    return pid, epoch


def produce(s: socket.socket, topic: str, batch: bytes) -> tuple[int, int]:
    """One Produce v3 (acks=1) of `batch` to partition 0: (error, base offset)."""
    s.sendall(produce_request(topic, batch))
    resp = read_response(s)
    # correlation, [topics] name, [partitions] index, error, base_offset
    n = struct.unpack(">h", resp[8:10])[0]
    at = 10 + n + 4
    _index, error, base = struct.unpack(">ihq", resp[at:at + 14])
    return error, base


def test_librdkafka_idempotent_producer_writes_each_record_once(cluster: Cluster,
                                                                broker: Broker):
    fjord(cluster, "topic", "create", "idem", "-p", "3", "--wait=15s")
    out = rdkafka("produce", "--bootstrap", broker.bootstrap, "--topic", "idem", "--count",
                  "3000", "--size", "64", "--acks", "all", "--idempotent")
    assert out[-1]["delivered"] == 3000 and out[-1]["failed"] == 0, out[-1]
    got = rdkafka("consume", "--bootstrap", broker.bootstrap, "--topic", "idem", "--count",
                  "3000", "--records", "--timeout-s", "30")
    records = [e for e in got if e["event"] == "record"]
    values = [int(r["value"].split(":")[0]) for r in records]
    assert sorted(values) == list(range(3000)), "every record exactly once"
    by_partition: dict[int, list[int]] = {}
    for r in records:
        by_partition.setdefault(r["partition"], []).append(r["offset"])
    assert len(by_partition) == 3
    for offsets in by_partition.values():
        assert offsets == list(range(len(offsets)))
    # The broker log holds no error from librdkafka's sequences.
    assert "out of order" not in broker.log()


def test_retries_are_deduplicated_and_gaps_and_fenced_epochs_refused(cluster: Cluster,
                                                                     broker: Broker):
    fjord(cluster, "topic", "create", "wire", "-p", "1", "--wait=15s")
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as s:
        pid, epoch = init_producer_id(s)
        assert epoch == 0
        assert pid >> 32 == broker.id, "producer ids carry the broker's node id"
        other, _ = init_producer_id(s)
        assert other != pid

        assert produce(s, "wire", record_batch(b"a", producer_id=pid, producer_epoch=0,
                                               base_sequence=0)) == (0, 0)
        assert produce(s, "wire", record_batch(b"b", producer_id=pid, producer_epoch=0,
                                               base_sequence=1)) == (0, 1)
        # The retry of sequence 1: answered with where it went, not written again.
        assert produce(s, "wire", record_batch(b"b", producer_id=pid, producer_epoch=0,
                                               base_sequence=1)) == (0, 1)
        error, _ = produce(s, "wire", record_batch(b"gap", producer_id=pid, producer_epoch=0,
                                                   base_sequence=5))
        assert error == OUT_OF_ORDER_SEQUENCE_NUMBER
        # A new epoch starts at sequence 0 and fences the old one.
        assert produce(s, "wire", record_batch(b"c", producer_id=pid, producer_epoch=1,
                                               base_sequence=0)) == (0, 2)
        error, _ = produce(s, "wire", record_batch(b"old", producer_id=pid, producer_epoch=0,
                                                   base_sequence=2))
        assert error == INVALID_PRODUCER_EPOCH
    cons = kcat("-b", broker.bootstrap, "-C", "-t", "wire", "-o", "beginning", "-e", "-f", "%s\n")
    assert cons.returncode == 0, cons.stderr
    assert cons.stdout.split() == ["a", "b", "c"]


def test_deduplication_survives_a_sigkill_of_the_broker(cluster: Cluster, broker: Broker):
    fjord(cluster, "topic", "create", "crash", "-p", "1", "--wait=15s")
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as s:
        pid, _ = init_producer_id(s)
        for seq in range(5):
            assert produce(s, "crash", record_batch(f"v{seq}".encode(), producer_id=pid,
                                                    producer_epoch=0, base_sequence=seq)) \
                == (0, seq)
    broker.kill()
    broker.start()
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as s:
        # The last batch again, as a producer retrying across the crash would.
        assert produce(s, "crash", record_batch(b"v4", producer_id=pid, producer_epoch=0,
                                                base_sequence=4)) == (0, 4)
        error, _ = produce(s, "crash", record_batch(b"v9", producer_id=pid, producer_epoch=0,
                                                    base_sequence=9))
        assert error == OUT_OF_ORDER_SEQUENCE_NUMBER
        assert produce(s, "crash", record_batch(b"v5", producer_id=pid, producer_epoch=0,
                                                base_sequence=5)) == (0, 5)
        # Ids handed out after the restart are new ones.
        fresh, _ = init_producer_id(s)
        assert fresh != pid
