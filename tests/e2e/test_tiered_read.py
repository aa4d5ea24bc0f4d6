"""Tiered storage's read side against a real broker: a topic with
redpanda.remote.read=true whose early segments are gone from the broker's
disk is read from offset 0 by kcat, kafka-python and librdkafka
(tests/clients/rdkafka_client), byte for byte, the early records coming from
the object store (a local-directory bucket) through the broker's cloud cache
and the rest from the local log; ListOffsets earliest answers the remote
start; /metrics counts the downloads and cache hits; a restart keeps the
cache.

The first test is the whole path: the broker's archiver uploads
(redpanda.remote.write) and local retention (retention.local.target.bytes)
removes what was uploaded. The others prepare the bucket here the way the
archiver writes it (the segment objects, copied from the broker's own sealed
segment files, then the partition manifest with their offsets, sizes and
CRC-32Cs) for a topic that reads from the store without uploading to it
(redpanda.remote.write=false), so that the read path is tested on its own;
retention.bytes then removes the early segments.

Every process is started by the fixtures on loopback and stopped by pid.
"""

from __future__ import annotations

import json
import struct
import urllib.request
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.record import _crc32c

from conftest import (Broker, Cluster, fjord, kcat, metric, parse_metrics, rdkafka,
                      wait_until)

COUNT = 400
SIZE = 8000  # 400 x 8 KB: three sealed 1 MiB segments and an active one


def expected_value(i: int) -> bytes:
    """rdkafka_client's record i: "<i>:" padded with 'x' to SIZE bytes."""
    head = f"{i}:".encode()
    return head + b"x" * (SIZE - len(head))


def batches(data: bytes):
    """(base offset, last offset, base timestamp, max timestamp, leader epoch) per batch."""
    pos = 0
    while pos < len(data):
        base, length, epoch = struct.unpack_from(">qii", data, pos)
        (delta,) = struct.unpack_from(">i", data, pos + 23)
        base_ts, max_ts = struct.unpack_from(">qq", data, pos + 27)
        yield base, base + delta, base_ts, max_ts, epoch
        pos += 12 + length


def upload_by_hand(bucket: Path, location: str, partition: int, segments: list[Path]) -> dict:
    """The archiver's writes for `segments` (sealed .log files of one
    partition, in order): each object, then the manifest."""
    prefix = bucket / "topics" / location / str(partition)
    prefix.mkdir(parents=True, exist_ok=True)
    metas = []
    for seg in segments:
        data = seg.read_bytes()
        bs = list(batches(data))
        base, last = bs[0][0], bs[-1][1]
        epoch = max(0, bs[-1][4])
        name = f"{base:020d}-{last:020d}-{epoch}.log"
        (prefix / name).write_bytes(data)
        metas.append({"name": name, "base_offset": base, "last_offset": last,
                      "base_timestamp": bs[0][2], "max_timestamp": max(b[3] for b in bs),
                      "epoch": epoch, "size": len(data), "crc32c": _crc32c.crc(data)})
    manifest = {"version": 1, "location": location, "partition": partition,
                "start_offset": metas[0]["base_offset"], "sequence": 1, "segments": metas,
                "final": None}
    (prefix / "manifest.json").write_text(json.dumps(manifest))
    return manifest


def watermarks(broker: Broker, topic: str) -> tuple[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    try:
        tp = TopicPartition(topic, 0)
        return consumer.beginning_offsets([tp])[tp], consumer.end_offsets([tp])[tp]
    finally:
        consumer.close()


def metrics(broker: Broker) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{broker.metrics_port}/metrics",
                                timeout=5) as r:
        return parse_metrics(r.read().decode())


def local_segments(broker: Broker, topic_uuid: str) -> list[Path]:
    d = broker.dir / "data" / "topics" / topic_uuid / "0"
    return sorted(d.glob("*.log"))


def check_every_client_reads_everything(broker: Broker, topic: str) -> None:
    # kcat: offset, key and value of every record.
    c = kcat("-b", broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e",
             "-f", "%o %k %s\n", timeout=120)
    assert c.returncode == 0, c.stderr
    lines = c.stdout.splitlines()
    assert len(lines) == COUNT, f"kcat read {len(lines)} records: {c.stderr[-2000:]}"
    for i, line in enumerate(lines):
        assert line.encode() == f"{i} {i} ".encode() + expected_value(i), f"kcat record {i}"

    # kafka-python.
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=15000, fetch_max_wait_ms=500)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        got = []
        for r in consumer:
            got.append(r)
            if len(got) == COUNT:
                break
    finally:
        consumer.close()
    assert [r.offset for r in got] == list(range(COUNT))
    for i, r in enumerate(got):
        assert r.key == str(i).encode() and r.value == expected_value(i), f"kafka-python {i}"

    # librdkafka's C++ API.
    events = rdkafka("consume", "--bootstrap", broker.bootstrap, "--topic", topic, "--count",
                     str(COUNT), "--records", "--timeout-s", "60")
    records = [e for e in events if e["event"] == "record"]
    assert [r["offset"] for r in records] == list(range(COUNT))
    for i, r in enumerate(records):
        assert r["value"].encode() == expected_value(i), f"rdkafka record {i}"


@pytest.mark.timeout(240)
def test_clients_read_what_the_archiver_uploaded_after_local_retention(cluster: Cluster,
                                                                      broker: Broker,
                                                                      tmp_path: Path):
    bucket = tmp_path / "bucket"
    fjord(cluster, "cluster", "config", "set", "cloud_storage_enabled=true",
          f"cloud_storage_local_directory={bucket}",
          "cloud_storage_segment_max_upload_interval_sec=1", "--wait=15s")
    fjord(cluster, "topic", "create", "tiered", "-p", "1", "-c", "redpanda.remote.write=true",
          "-c", "redpanda.remote.read=true", "-c", "segment.bytes=1048576",
          "-c", "retention.local.target.bytes=1048576", "--wait=15s")
    produced = rdkafka("produce", "--bootstrap", broker.bootstrap, "--topic", "tiered",
                       "--count", str(COUNT), "--size", str(SIZE), "--linger-ms", "0")
    assert produced[-1]["delivered"] == COUNT
    uuid = json.loads(fjord(cluster, "--format", "json", "topic", "describe",
                            "tiered").stdout)[0]["summary"]["uuid"]

    def uploaded() -> int:
        found = list((bucket / "topics" / "tiered").glob("*/*/0/manifest.json"))
        if not found:
            return -1
        m = json.loads(found[0].read_text())
        return m["segments"][-1]["last_offset"] + 1 if m["segments"] else m["start_offset"]

    wait_until(lambda: uploaded() == COUNT, 90, "every record uploaded")
    # Local retention removed the uploaded early segments.
    wait_until(lambda: int(local_segments(broker, uuid)[0].stem) > 0, 30,
               "the early segments gone from the broker's disk")
    local_start = int(local_segments(broker, uuid)[0].stem)
    assert watermarks(broker, "tiered") == (0, COUNT)  # EARLIEST is the remote start

    check_every_client_reads_everything(broker, "tiered")
    m = metrics(broker)
    assert metric(m, "fjord_broker_tiered_downloads_total") >= 1
    assert metric(m, "fjord_broker_tiered_cache_hits_total") > 0
    assert metric(m, "fjord_broker_tiered_corrupt_downloads_total") == 0
    assert local_start > 0

    # fjord topic describe: where the records are, from the leader.
    manifest = json.loads(next((bucket / "topics" / "tiered").glob("*/*/0/manifest.json"))
                          .read_text())
    local_bytes = sum(p.stat().st_size for p in local_segments(broker, uuid))
    (p,) = json.loads(fjord(cluster, "--format", "json", "topic", "describe",
                            "tiered").stdout)[0]["partitions"]
    assert "storage_error" not in p, p
    assert p["log_start_offset"] == 0 and p["remote_start_offset"] == 0
    assert p["local_start_offset"] == int(local_segments(broker, uuid)[0].stem)
    assert p["high_watermark"] == COUNT
    assert p["local_size_bytes"] == local_bytes
    assert p["remote_size_bytes"] == sum(s["size"] for s in manifest["segments"])
    assert p["remote_lag_offsets"] == 0
    text = fjord(cluster, "topic", "describe", "tiered", "-p").stdout
    lines = [line.split() for line in text.splitlines() if line.strip()]
    header = lines[0]
    assert header == ["PARTITION", "LEADER", "EPOCH", "REPLICAS", "LOG-START-OFFSET",
                      "LOCAL-START-OFFSET", "HIGH-WATERMARK", "LOCAL-SIZE",
                      "REMOTE-START-OFFSET", "REMOTE-SIZE"], text
    row = dict(zip(header, lines[1]))
    assert row["LOG-START-OFFSET"] == "0" and row["HIGH-WATERMARK"] == str(COUNT)
    assert row["REMOTE-SIZE"] == str(p["remote_size_bytes"])


@pytest.mark.timeout(180)
def test_clients_read_from_zero_across_the_object_store_and_the_local_log(
        cluster: Cluster, broker: Broker, tmp_path: Path):
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    fjord(cluster, "cluster", "config", "set", "cloud_storage_enabled=true",
          f"cloud_storage_local_directory={bucket}", "cloud_storage_cache_size=104857600")
    fjord(cluster, "topic", "create", "cold", "-p", "1", "-c", "redpanda.remote.read=true",
          "-c", "segment.bytes=1048576", "--wait=15s")
    produced = rdkafka("produce", "--bootstrap", broker.bootstrap, "--topic", "cold", "--count",
                       str(COUNT), "--size", str(SIZE), "--linger-ms", "0")
    assert produced[-1]["delivered"] == COUNT

    info = json.loads(fjord(cluster, "--format", "json", "cluster", "info").stdout)
    topic = json.loads(fjord(cluster, "--format", "json", "topic", "describe", "cold").stdout)[0]
    uuid = topic["summary"]["uuid"]
    location = f"cold/{info['cluster_uuid']}/{uuid}"
    segs = local_segments(broker, uuid)
    assert len(segs) >= 3, segs
    manifest = upload_by_hand(bucket, location, 0, segs[:-1])
    remote_end = manifest["segments"][-1]["last_offset"] + 1
    active_base = int(segs[-1].stem)
    assert remote_end == active_base

    # Local retention removes every sealed segment: 0..active_base-1 are now
    # only in the bucket.
    fjord(cluster, "topic", "alter-config", "cold", "--set", "retention.bytes=1", "--wait=15s")
    wait_until(lambda: len(local_segments(broker, uuid)) == 1, 20, "the early segments gone")
    # EARLIEST is the remote start. The manifest was written by hand, not by
    # this broker's archiver: the broker sees it once the "no manifest" it
    # may hold from before ages out (manifest_max_age_ms, 5 s).
    wait_until(lambda: watermarks(broker, "cold") == (0, COUNT), 15,
               "EARLIEST at the remote start")

    check_every_client_reads_everything(broker, "cold")
    m = metrics(broker)
    assert metric(m, "fjord_broker_tiered_downloads_total") == len(segs) - 1
    assert metric(m, "fjord_broker_tiered_cache_hits_total") > 0
    assert metric(m, "fjord_broker_tiered_cache_misses_total") == len(segs) - 1
    assert metric(m, "fjord_broker_tiered_corrupt_downloads_total") == 0
    assert metric(m, "fjord_broker_tiered_cache_limit_bytes") == 104857600
    assert 0 < metric(m, "fjord_broker_tiered_cache_bytes") <= 104857600
    cache = broker.dir / "data" / "cloud_cache"
    assert len([p for p in cache.iterdir() if p.is_dir()]) == len(segs) - 1

    # A restart keeps the cache: read again without downloading.
    broker.stop()
    broker.start()
    wait_until(lambda: watermarks(broker, "cold") == (0, COUNT), 30, "the partition back")
    check_every_client_reads_everything(broker, "cold")
    assert metric(metrics(broker), "fjord_broker_tiered_downloads_total") == 0


def test_without_remote_read_the_early_offsets_are_out_of_range(cluster: Cluster,
                                                                 broker: Broker,
                                                                 tmp_path: Path):
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    fjord(cluster, "cluster", "config", "set", "cloud_storage_enabled=true",
          f"cloud_storage_local_directory={bucket}")
    fjord(cluster, "topic", "create", "warm", "-p", "1", "-c", "segment.bytes=1048576",
          "--wait=15s")
    rdkafka("produce", "--bootstrap", broker.bootstrap, "--topic", "warm", "--count", str(COUNT),
            "--size", str(SIZE), "--linger-ms", "0")
    info = json.loads(fjord(cluster, "--format", "json", "cluster", "info").stdout)
    uuid = json.loads(fjord(cluster, "--format", "json", "topic", "describe",
                            "warm").stdout)[0]["summary"]["uuid"]
    segs = local_segments(broker, uuid)
    upload_by_hand(bucket, f"warm/{info['cluster_uuid']}/{uuid}", 0, segs[:-1])
    fjord(cluster, "topic", "alter-config", "warm", "--set", "retention.bytes=1", "--wait=15s")
    wait_until(lambda: len(local_segments(broker, uuid)) == 1, 20, "the early segments gone")
    start = int(segs[-1].stem)
    # The data is in the bucket, but the topic does not read from it.
    assert watermarks(broker, "warm") == (start, COUNT)
    c = kcat("-b", broker.bootstrap, "-C", "-t", "warm", "-p", "0", "-o", "beginning", "-e",
             "-f", "%o\n")
    assert c.returncode == 0, c.stderr
    assert [int(x) for x in c.stdout.split()] == list(range(start, COUNT))
    # Turned on: the same consumer reads from 0.
    fjord(cluster, "topic", "alter-config", "warm", "--set", "redpanda.remote.read=true",
          "--wait=15s")
    wait_until(lambda: watermarks(broker, "warm") == (0, COUNT), 20, "EARLIEST at the remote start")
    c = kcat("-b", broker.bootstrap, "-C", "-t", "warm", "-p", "0", "-o", "beginning", "-e",
             "-f", "%o\n", timeout=120)
    assert c.returncode == 0, c.stderr
    assert [int(x) for x in c.stdout.split()] == list(range(COUNT))
