"""Log compaction end to end: a cleanup.policy=compact topic, written by
kafka-python over several short segments, keeps the latest value of every
key at its original offset, through time retention (which a compact-only
topic must ignore) and a broker restart, read back by kafka-python and kcat.
The broker's housekeeping runs the cleaner once a second; the test watches
fjord_broker_compaction_runs_total on /metrics and the records kcat reads.
"""

from __future__ import annotations

import time
import urllib.request

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from conftest import Broker, Cluster, fjord, kcat, metric, parse_metrics, wait_until

TOPIC = "compacted"


def broker_metric(broker: Broker, name: str) -> float:
    url = f"http://127.0.0.1:{broker.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=2) as r:
        return metric(parse_metrics(r.read().decode()), name) or 0.0


def kcat_records(broker: Broker) -> dict[int, tuple[str, str]]:
    """offset -> (key, value), from the beginning to the end."""
    c = kcat("-b", broker.bootstrap, "-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-e",
             "-q", "-f", "%o %k %s\n")
    assert c.returncode == 0, c.stderr
    out = {}
    for line in c.stdout.splitlines():
        if line.strip():
            o, k, v = line.split(" ", 2)
            out[int(o)] = (k, v)
    return out


@pytest.mark.timeout(90)
def test_compacted_topic_keeps_the_latest_value_of_every_key(cluster: Cluster, broker: Broker):
    fjord(cluster, "topic", "create", TOPIC, "-p", "1", "-c", "cleanup.policy=compact",
          "-c", "segment.ms=100", "-c", "retention.ms=2000",
          "-c", "min.cleanable.dirty.ratio=0.01", "--wait=15s")
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=0)
    sent: dict[int, tuple[str, str]] = {}

    def send(key: str, value: str) -> None:
        m = producer.send(TOPIC, key=key.encode(), value=value.encode()).get(timeout=10)
        sent[m.offset] = (key, value)

    # The only value of its key: time retention would have deleted it.
    send("first", "only")
    first_at = time.monotonic()
    for r in range(4):
        time.sleep(0.15)  # > segment.ms: the next record starts a new segment
        for k in ("a", "b", "c"):
            send(k, f"{k}-{r}")
    time.sleep(0.15)
    send("d", "last")  # seals the last round's segment
    producer.close()
    assert sorted(sent) == list(range(14))

    latest: dict[str, int] = {}
    for o, (k, _) in sorted(sent.items()):
        latest[k] = o
    expected = {o: sent[o] for o in latest.values()}

    # The cleaner has run over every round, and retention.ms has long
    # passed for "first".
    wait_until(lambda: kcat_records(broker) == expected, 20, "the topic to be compacted")
    assert broker_metric(broker, "fjord_broker_compaction_runs_total") >= 1
    assert broker_metric(broker, "fjord_broker_compaction_bytes_removed_total") > 0
    time.sleep(max(0.0, first_at + 3.0 - time.monotonic()))
    assert kcat_records(broker) == expected

    broker.stop()
    broker.start()
    assert kcat_records(broker) == expected
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=3000)
    tp = TopicPartition(TOPIC, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    got = {r.offset: (r.key.decode(), r.value.decode()) for r in consumer}
    # Offsets past the last record (the gaps compaction left are skipped).
    end = consumer.end_offsets([tp])[tp]
    consumer.close()
    assert got == expected
    assert end == 14
