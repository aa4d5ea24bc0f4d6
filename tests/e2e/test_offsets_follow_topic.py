"""Committed offsets follow their topic, not its name (issue 12, finding 3).

A kafka-python consumer group commits offset 10 on a topic; the topic is
deleted and created again under the same name with the `fjord` CLI, and 10
records are produced to the new one. The group must have no committed
offset for it (OffsetFetch answers -1: KafkaAdminClient lists none and
`consumer.committed` is None), so `auto.offset.reset=earliest` applies and
the same group reads all 10 new records, not from offset 10 on. Once while
the broker runs (it tombstones the old offsets when the metadata changes),
and once with the broker stopped across the deletion and re-creation (it
finds, when it replays __consumer_offsets, offsets whose topic id is not the
live topic's).

Every process is started by the fixtures (conftest.spawn) on loopback ports
chosen free, and stopped by pid at teardown.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from conftest import Broker, Cluster, fjord, wait_until

TOPIC = "follow"
GROUP = "followers"
TP = TopicPartition(TOPIC, 0)


def start_broker(cluster: Cluster, root: Path) -> Broker:
    b = Broker(cluster, root)
    with open(b.dir / "broker.yaml", "a", encoding="utf-8") as f:
        f.write("group:\n  initial_rebalance_delay_ms: 0\n")
    b.start()
    return b


def produce(broker: Broker, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5)
    try:
        for f in [producer.send(TOPIC, value=v, partition=0) for v in values]:
            f.get(timeout=20)
    finally:
        producer.close()


def consumer(broker: Broker) -> KafkaConsumer:
    """A member of GROUP reading TOPIC-0 (assigned: the group's committed
    offset, or auto.offset.reset, decides where it starts)."""
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=GROUP,
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      request_timeout_ms=30000, client_id=f"{GROUP}-client")
    c.assign([TP])
    return c


def consume(c: KafkaConsumer, n: int) -> list[tuple[int, bytes]]:
    got: list[tuple[int, bytes]] = []

    def enough():
        for records in c.poll(timeout_ms=100).values():
            got.extend((r.offset, r.value) for r in records)
        return len(got) >= n

    wait_until(enough, 30, f"{n} records")
    return got


def listed_offset(broker: Broker) -> int | None:
    """The group's committed offset of TOPIC-0 as KafkaAdminClient lists it
    (OffsetFetch for every committed offset of the group); None if absent or
    -1. None also while the coordinator is not ready (retried by callers)."""
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=20000)
    try:
        om = admin.list_consumer_group_offsets(GROUP).get(TP)
    finally:
        admin.close()
    return None if om is None or om.offset < 0 else om.offset


def commit_ten(broker: Broker) -> list[bytes]:
    """Produces 10 records to a new TOPIC, reads them in GROUP, commits 10."""
    fjord(broker.cluster, "topic", "create", TOPIC, "-p", "1", "--wait=15s")
    old = [b"old-%d" % i for i in range(10)]
    produce(broker, old)
    c = consumer(broker)
    try:
        assert [v for _, v in consume(c, 10)] == old
        c.commit()
        assert c.committed(TP) == 10
    finally:
        c.close()
    assert listed_offset(broker) == 10
    return old


def reads_the_new_topic_from_its_start(broker: Broker) -> None:
    """The group has no offset for the recreated TOPIC, and reads all of it."""
    def listed():
        try:  # COORDINATOR_LOAD_IN_PROGRESS right after a start
            return ("ok", listed_offset(broker))
        except KafkaError:
            return None

    assert wait_until(listed, 30, "the group's offsets")[1] is None
    new = [b"new-%d" % i for i in range(10)]
    produce(broker, new)
    c = consumer(broker)
    try:
        assert c.committed(TP) is None  # OffsetFetch for TOPIC-0: -1
        got = consume(c, 10)
        # From offset 0, by auto.offset.reset: not from the old topic's 10.
        assert got == list(enumerate(new))
        c.commit()
        assert c.committed(TP) == 10
    finally:
        c.close()


@pytest.mark.timeout(90)
def test_a_recreated_topic_has_no_committed_offsets(cluster: Cluster, tmp_path: Path):
    broker = start_broker(cluster, tmp_path)
    try:
        commit_ten(broker)
        fjord(cluster, "topic", "delete", TOPIC, "--wait=15s")
        # Deleted: the group has no offset for it any more.
        assert listed_offset(broker) is None
        fjord(cluster, "topic", "create", TOPIC, "-p", "1", "--wait=15s")
        reads_the_new_topic_from_its_start(broker)
        log = (broker.dir / "broker.log").read_text(errors="replace")
        assert "tombstoning 1 offsets" in log, log[-4000:]
    finally:
        broker.stop()


@pytest.mark.timeout(90)
def test_a_topic_recreated_while_the_broker_was_down_has_no_committed_offsets(
        cluster: Cluster, tmp_path: Path):
    broker = start_broker(cluster, tmp_path)
    try:
        commit_ten(broker)
        broker.stop()
        # No --wait: the stopped broker cannot apply the changes until it
        # starts again.
        fjord(cluster, "topic", "delete", TOPIC)
        fjord(cluster, "topic", "create", TOPIC, "-p", "1")
        broker.start()
        reads_the_new_topic_from_its_start(broker)
    finally:
        broker.stop()
