"""Durability as a Kafka user sees it (docs/durability.md): acks=all and
OffsetCommit are answered only after an fdatasync, many producers share one
(group commit), write.caching=true skips it and is readable at once, and a
clean stop or a SIGKILL loses nothing any acks setting acknowledged.

Power loss itself is not reproducible on a shared machine; the broker's
simulation (broker/sim, `broker_log_sim` in scripts/test) covers it. What
this file proves is that the settings that decide it are honoured by the
real daemon: the broker's fsync counter moves exactly when they say it must.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from conftest import Broker, Cluster, fjord, parse_metrics, wait_until


def syncs(broker: Broker) -> tuple[float, float]:
    """(fdatasyncs, group-commit rounds) so far, from the broker's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{broker.metrics_port}/metrics",
                                timeout=5) as r:
        m = parse_metrics(r.read().decode())
    return (m.get(("fjord_broker_log_syncs_total", ()), 0.0),
            m.get(("fjord_broker_log_flush_rounds_total", ()), 0.0))


@pytest.fixture
def quiet_broker(cluster: Cluster, tmp_path: Path):
    """A broker whose write-caching topics are never fsynced by time or count,
    so any fsync the counter shows comes from group commit."""
    b = Broker(cluster, tmp_path)
    cfg = b.dir / "broker.yaml"
    cfg.write_text(cfg.read_text() + "flush:\n  ms: 0\n  messages: 0\n")
    b.start()
    yield b
    b.stop()


def consume_all(broker: Broker, topic: str, n: int) -> list[bytes]:
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest",
                      enable_auto_commit=False, consumer_timeout_ms=8000)
    c.assign([TopicPartition(topic, 0)])
    got = []
    for msg in c:
        got.append(msg.value)
        if len(got) >= n:
            break
    c.close()
    return got


def test_acks_all_waits_for_fsync_and_write_caching_does_not(cluster: Cluster,
                                                            quiet_broker: Broker):
    b = quiet_broker
    fjord(cluster, "topic", "create", "durable", "--wait=15s")
    fjord(cluster, "topic", "create", "cached", "-c", "write.caching=true", "--wait=15s")

    before, _ = syncs(b)
    p = KafkaProducer(bootstrap_servers=b.bootstrap, acks="all", linger_ms=0)
    for i in range(10):
        p.send("durable", value=b"d%d" % i).get(timeout=20)  # one at a time: one sync each
    after_durable, _ = syncs(b)
    assert after_durable - before >= 10, "acks=all was answered without an fdatasync"

    for i in range(10):
        p.send("cached", value=b"c%d" % i).get(timeout=20)
    after_cached, _ = syncs(b)
    assert after_cached == after_durable, "write.caching=true still fsynced every batch"
    p.close()
#Both are readable; the cached records without any fsync at all.
    assert consume_all(b, "durable", 10) == [b"d%d" % i for i in range(10)]
    assert consume_all(b, "cached", 10) == [b"c%d" % i for i in range(10)]
    assert syncs(b)[0] == after_cached


def test_concurrent_producers_share_fsyncs(cluster: Cluster, broker: Broker):
    fjord(cluster, "topic", "create", "many", "-p", "6", "--wait=15s")
    before_syncs, before_rounds = syncs(broker)
    producers = [KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=0)
                 for _ in range(4)]
    futures = [p.send("many", key=b"k%d" % i, value=b"v%d" % i)
               for i in range(400) for p in [producers[i % 4]]]
    for f in futures:
        f.get(timeout=30)
    for p in producers:
        p.close()
    after_syncs, after_rounds = syncs(broker)
    rounds = after_rounds - before_rounds
    assert after_syncs > before_syncs
# 400 acknowledged batches at most; group commit needs far fewer rounds.
    assert 0 < rounds < 400, rounds


def test_offset_commit_is_fsynced_before_it_is_answered(cluster: Cluster, broker: Broker):
    fjord(cluster, "topic", "create", "committed", "--wait=15s")
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id="g-durable",
                      enable_auto_commit=False)
    tp = TopicPartition("committed", 0)
    c.assign([tp])
    before, _ = syncs(broker)
    c.commit({tp: OffsetAndMetadata(7, "")})
    after, _ = syncs(broker)
    assert after > before, "OffsetCommit was answered before its record was fsynced"
    assert c.committed(tp) == 7
    c.close()


@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_sigkill_loses_nothing_acknowledged_or_written(cluster: Cluster, broker: Broker, acks):
    topic = f"kill-{acks}"
    fjord(cluster, "topic", "create", topic, "--wait=15s")
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, acks=acks, linger_ms=0)
    for i in range(50):
        p.send(topic, value=b"r%d" % i)
    p.flush(timeout=20)
    p.close()
    if acks == 0:
#No answers to wait for : let the broker read what was sent.
        wait_until(lambda: len(consume_all(broker, topic, 50)) == 50, 15, "50 records readable")
    broker.kill()  # the page cache survives a process kill: nothing may be lost
    broker.start()
    assert consume_all(broker, topic, 50) == [b"r%d" % i for i in range(50)]


def test_write_caching_is_a_validated_topic_property(cluster: Cluster, broker: Broker):
    bad = fjord(cluster, "topic", "create", "badcache", "-c", "write.caching=sometimes",
                check=False)
    assert bad.returncode != 0
    assert "write.caching" in bad.stderr + bad.stdout
    ok = fjord(cluster, "cluster", "config", "set", "write_caching_default", "true", check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
