"""Every record of a Produce is validated (broker/storage/record_validator.h):
malformed batches under a valid CRC are refused with Kafka's error code and
leave the partition as it was (log end unchanged, still readable by kcat and
kafka-python), and compressed batches of every codec, as librdkafka and
kafka-python write them, go through and read back.

librdkafka before 2.10 (Debian ships 2.0.2) sends gzip, snappy and lz4
batches uncompressed to a broker whose ApiVersions does not list Produce v0;
the broker therefore lists v0-v9 and refuses v0-2 per partition (as Kafka
4.0 does, KAFKA-18659), and `kcat -z` compresses with every codec. The
batches librdkafka compresses are also captured by a fake broker
(CaptureBroker) and sent to fjord-broker byte for byte.

Every process is started by the fixtures on loopback and stopped by pid.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from conftest import Broker, Cluster, fjord, kcat, produce_request, read_response, wait_until

CORRUPT_MESSAGE = 2
INVALID_RECORD = 87

# ---------------------------------------------------------------- wire helpers

_CRC32C = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ (0x82F63B78 if _c & 1 else 0)
    _CRC32C.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def varint(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([b])
        out += bytes([b | 0x80])


def record(offset_delta: int, value: bytes, key: bytes | None = None) -> bytes:
    body = b"\x00" + varint(0) + varint(offset_delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(len(value)) + value + varint(0)
    return varint(len(body)) + body


def batch(records: bytes, count: int, attributes: int = 0) -> bytes:
    """A batch with a valid header and CRC around `records`, whatever they
    are, timestamped now (time retention would delete older ones)."""
    now = int(time.time() * 1000)
    after_crc = struct.pack(">hiqqqhii", attributes, count - 1, now, now, -1, -1, -1,
                            count) + records
    after_len = struct.pack(">ibI", -1, 2, crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(after_len)) + after_len


def produce(s: socket.socket, topic: str, b: bytes) -> tuple[int, int]:
    """Produce v3 (acks=1) of one batch to partition 0: (error code, base offset)."""
    s.sendall(produce_request(topic, b))
    resp = read_response(s)
    n = struct.unpack(">h", resp[8:10])[0]
    _index, error, base = struct.unpack(">ihq", resp[10 + n + 4:10 + n + 18])
    return error, base


def log_end_offset(s: socket.socket, topic: str) -> int:
    """ListOffsets v1, latest (-1), partition 0."""
    body = struct.pack(">ii", -1, 1) + struct.pack(">h", len(topic)) + topic.encode()
    body += struct.pack(">iiq", 1, 0, -1)
    msg = struct.pack(">hhi", 2, 1, 21) + struct.pack(">h", 4) + b"test" + body
    s.sendall(struct.pack(">i", len(msg)) + msg)
    resp = read_response(s)
    n = struct.unpack(">h", resp[8:10])[0]
    _index, error, _ts, offset = struct.unpack(">ihqq", resp[10 + n + 4:10 + n + 26])
    assert error == 0, f"ListOffsets error {error}"
    return offset


def stored_codecs(broker: Broker) -> list[int]:
    """The codec (attributes bits 0-2) of every batch in every partition log."""
    codecs = []
    for f in sorted((broker.dir / "data" / "topics").glob("*/*/*.log")):
        data = Path(f).read_bytes()
        pos = 0
        while pos + 61 <= len(data):
            length, = struct.unpack(">i", data[pos + 8:pos + 12])
            codecs.append(struct.unpack(">h", data[pos + 21:pos + 23])[0] & 7)
            pos += 12 + length
    return codecs


class CaptureBroker:
    """A fake one-partition broker for librdkafka: ApiVersions (listing
    Produce v0-v7, so that librdkafka compresses with every codec), Metadata
    v0, and Produce v3-v7, whose batches it keeps and acknowledges."""

    def __init__(self, topic: str):
        self.topic = topic
        self.batches: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                while True:
                    head = conn.recv(4, socket.MSG_WAITALL)
                    if len(head) < 4:
                        return
                    msg = conn.recv(struct.unpack(">i", head)[0], socket.MSG_WAITALL)
                    key, version, corr, n = struct.unpack(">hhih", msg[:10])
                    out = struct.pack(">i", corr) + self._answer(key, version, msg[10 + max(n, 0):])
                    conn.sendall(struct.pack(">i", len(out)) + out)
            except (OSError, struct.error, KeyError):
                return

    def _answer(self, key: int, version: int, body: bytes) -> bytes:
        def string(s: str) -> bytes:
            return struct.pack(">h", len(s)) + s.encode()

        if key == 18:  # ApiVersions, v0 body (KIP-511: error 35 asks for a v0 retry)
            apis = [(0, 0, 7), (1, 0, 11), (3, 0, 0), (10, 0, 0), (18, 0, 0)]
            return struct.pack(">hi", 35 if version > 0 else 0, len(apis)) + \
                b"".join(struct.pack(">hhh", *a) for a in apis)
        if key == 3:  # Metadata v0: this broker leads partition 0
            return struct.pack(">ii", 1, 1) + string("127.0.0.1") + struct.pack(">i", self.port) + \
                struct.pack(">ih", 1, 0) + string(self.topic) + \
                struct.pack(">ihiiiiii", 1, 0, 0, 1, 1, 1, 1, 1)
        if key == 0:  # Produce v3-v7: one topic, one partition
            tid = struct.unpack(">h", body[:2])[0]
            at = 2 + max(tid, 0) + 6 + 4
            n = struct.unpack(">h", body[at:at + 2])[0]
            name = body[at + 2:at + 2 + n]
            at += 2 + n + 4
            index, size = struct.unpack(">ii", body[at:at + 8])
            self.batches.append(body[at + 8:at + 8 + size])
            out = struct.pack(">ih", 1, n) + name + struct.pack(">iihqq", 1, index, 0,
                                                                 len(self.batches) - 1, -1)
            return out + (struct.pack(">q", 0) if version >= 5 else b"") + struct.pack(">i", 0)
        raise KeyError(key)


def librdkafka_batch(codec: str, values: list[str]) -> bytes:
    """The batch librdkafka (kcat -z codec) writes for `values`, compressed."""
    cap = CaptureBroker("t")
    try:
        p = kcat("-b", f"127.0.0.1:{cap.port}", "-P", "-t", "t", "-z", codec, "-X", "linger.ms=200",
                 stdin="".join(v + "\n" for v in values))
        assert p.returncode == 0, p.stderr
    finally:
        cap.close()
    assert len(cap.batches) == 1, len(cap.batches)
    b = cap.batches[0]
    codecs = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
    assert struct.unpack(">h", b[21:23])[0] & 7 == codecs[codec], "librdkafka did not compress"
    return b


def kcat_values(broker: Broker, topic: str, n: int) -> list[str]:
    """The values of the partition read by kcat, once it holds n (the high
    watermark may follow an acks=1 append by a sync)."""
    values: list[str] = []

    def read() -> bool:
        cons = kcat("-b", broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-f",
                    "%s\n")
        assert cons.returncode == 0, cons.stderr
        values[:] = cons.stdout.split()
        return len(values) >= n

    wait_until(read, 10, f"{n} records in {topic}")
    return values


def python_values(broker: Broker, topic: str, n: int) -> list[bytes]:
    """The values of the first n records, read by kafka-python."""
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    values: list[bytes] = []
    deadline = time.monotonic() + 15
    while len(values) < n and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            values += [r.value for r in records]
    consumer.close()
    return values


# ---------------------------------------------------------------- tests


def test_malformed_batches_are_refused_and_change_nothing(cluster: Cluster, broker: Broker):
    fjord(cluster, "topic", "create", "checked", "-p", "1", "--wait=15s")
    two = record(0, b"x") + record(2, b"y")  # offset deltas 0, 2
    bad = {
        "garbage records, valid CRC": (batch(b"\xee" * 40, 1), CORRUPT_MESSAGE),
        "1 record claiming 1,000": (batch(record(0, b"one"), 1000), CORRUPT_MESSAGE),
        "garbage gzip": (batch(b"not gzip at all", 1, attributes=1), CORRUPT_MESSAGE),
        "garbage snappy": (batch(b"not snappy at all", 1, attributes=2), CORRUPT_MESSAGE),
        "garbage lz4": (batch(b"not lz4 at all", 1, attributes=3), CORRUPT_MESSAGE),
        "garbage zstd": (batch(b"not zstd at all", 1, attributes=4), CORRUPT_MESSAGE),
        "control batch": (batch(record(0, b"marker"), 1, attributes=0x20), INVALID_RECORD),
        "transactional, no producer id": (batch(record(0, b"txn"), 1, attributes=0x10),
                                          INVALID_RECORD),
        "offset deltas 0, 2": (batch(two, 2), INVALID_RECORD),
    }
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as s:
        assert produce(s, "checked", batch(record(0, b"before"), 1)) == (0, 0)
        # ListOffsets answers the high watermark, which may follow an acks=1
        # append once it is synced.
        wait_until(lambda: log_end_offset(s, "checked") == 1, 10, "offset 0 committed")
        for label, (b, code) in bad.items():
            error, _ = produce(s, "checked", b)
            assert error == code, f"{label}: error {error}, want {code}"
            assert log_end_offset(s, "checked") == 1, f"{label}: the log end moved"
        # The next offset is still 1: no refused batch took offsets.
        assert produce(s, "checked", batch(record(0, b"after"), 1)) == (0, 1)
        wait_until(lambda: log_end_offset(s, "checked") == 2, 10, "offset 1 committed")
    assert kcat_values(broker, "checked", 2) == ["before", "after"]
    assert python_values(broker, "checked", 2) == [b"before", b"after"]
    assert broker.proc.poll() is None


def test_every_codec_from_real_clients_passes_and_reads_back(cluster: Cluster, broker: Broker):
    fjord(cluster, "topic", "create", "codecs", "py", "-p", "1", "--wait=15s")
    expected: list[str] = []
    # librdkafka straight to the broker.
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        values = [f"kcat-{codec}-{i}-" + "abcdefgh" * 8 for i in range(4)]
        p = kcat("-b", broker.bootstrap, "-P", "-t", "codecs", "-z", codec,
                 stdin="".join(v + "\n" for v in values))
        assert p.returncode == 0, p.stderr
        expected += values
    # librdkafka's compressed batches, captured, sent byte for byte.
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as s:
        for codec in ("gzip", "snappy", "lz4", "zstd"):
            values = [f"rd-{codec}-{i}-" + "abcdefgh" * 8 for i in range(4)]
            error, _ = produce(s, "codecs", librdkafka_batch(codec, values))
            assert error == 0, f"librdkafka {codec} batch refused: {error}"
            expected += values
        rd_gzip = [f"rd-py-{i}-" + "abcdefgh" * 8 for i in range(3)]
        assert produce(s, "py", librdkafka_batch("gzip", rd_gzip))[0] == 0
    assert {1, 2, 3, 4} <= set(stored_codecs(broker)), stored_codecs(broker)
    assert kcat_values(broker, "codecs", len(expected)) == expected

    # kafka-python's gzip, read back by both clients (kafka-python here has
    # no snappy, lz4 or zstd module).
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, compression_type="gzip",
                             linger_ms=20)
    py = [b"py-%d-" % i + b"abcdefgh" * 8 for i in range(5)]
    for v in py:
        producer.send("py", v)
    producer.flush()
    producer.close()
    want = [v.encode() for v in rd_gzip] + py
    assert python_values(broker, "py", len(want)) == want
    assert kcat_values(broker, "py", len(want)) == [v.decode() for v in want]
    assert stored_codecs(broker).count(1) >= 3  # librdkafka's, and kafka-python's gzip


def test_librdkafka_compresses_every_codec_against_the_broker(cluster: Cluster, broker: Broker):
    # librdkafka compresses gzip, snappy and lz4 only for a broker that lists
    # Produce v0-2 (KAFKA-18659); the broker lists them and refuses their use.
    fjord(cluster, "topic", "create", "direct", "-p", "1", "--wait=15s")
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        values = [f"direct-{codec}-{i}-" + "abcdefgh" * 8 for i in range(4)]
        p = kcat("-b", broker.bootstrap, "-P", "-t", "direct", "-z", codec, "-X", "linger.ms=100",
                 stdin="\n".join(values) + "\n")
        assert p.returncode == 0, p.stderr
    assert {1, 2, 3, 4} <= set(stored_codecs(broker)), stored_codecs(broker)
    assert len(kcat_values(broker, "direct", 16)) == 16
