"""A broker's data against the word of the wrong controller (issue 11).

(a) A broker with topics, restarted with `controllers:` pointing at another,
    fresh controller cluster, refuses that cluster loudly, applies nothing
    and leaves every topic directory byte-for-byte as it was; pointed back at
    its own cluster, it serves the old records to kcat and kafka-python.
(b) `fjord topic delete` moves the topic's directory to a tombstone in the
    trash, which the reclaimer removes once `log_delete_delay_ms` has passed,
    also when the broker was restarted in between.

Real fjord-controller, fjord-broker, fjord CLI, kcat and kafka-python on
loopback; every process is started by the fixtures (conftest.spawn) and
stopped by pid.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from conftest import BROKER, Broker, Cluster, fjord, kcat, pb, spawn, wait_until


def files_under(root: Path) -> dict[str, bytes]:
    """Every file and directory under `root`, with its bytes."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel + "/" if p.is_dir() else rel] = b"" if p.is_dir() else p.read_bytes()
    return out


def set_controllers(b: Broker, cluster: Cluster) -> None:
    cfg = b.dir / "broker.yaml"
    controllers = ", ".join(m.api for m in cluster.members.values())
    cfg.write_text(re.sub(r"(?m)^controllers: .*$", f"controllers: [{controllers}]",
                          cfg.read_text()))


def start_unready(b: Broker) -> None:
    """Starts the broker without waiting for it to become ready."""
    b.proc = spawn([str(BROKER), "--config", str(b.dir / "broker.yaml")], b.dir / "broker.log")


def cluster_uuid(c: Cluster) -> str:
    return wait_until(lambda: next((s.cluster_uuid for s in c.statuses().values()
                                    if s.cluster_uuid), ""), 15, "the cluster's uuid")


def healthz(b: Broker) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{b.metrics_port}/healthz", timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.mark.timeout(180)
def test_a_broker_refuses_another_controller_cluster_and_keeps_its_data(cluster: Cluster,
                                                                         cluster_factory,
                                                                         tmp_path: Path):
    own_uuid = cluster_uuid(cluster)
    b = Broker(cluster, tmp_path)
    b.start()
    try:
        fjord(cluster, "topic", "create", "orders", "-p", "2", "--wait=15s")
        fjord(cluster, "topic", "create", "audit", "-p", "1", "--wait=15s")
        orders = [f"k{i}:order-{i}" for i in range(40)]
        audit = [f"audit-{i}" for i in range(10)]
        assert kcat("-b", b.bootstrap, "-P", "-t", "orders", "-K:",
                    stdin="\n".join(orders) + "\n").returncode == 0
        assert kcat("-b", b.bootstrap, "-P", "-t", "audit",
                    stdin="\n".join(audit) + "\n").returncode == 0
    finally:
        b.stop()
    topics_dir = b.dir / "data" / "topics"
    before = files_under(topics_dir)
    assert len([p for p in topics_dir.iterdir()]) == 2, before.keys()
    assert any(k.endswith(".log") and v for k, v in before.items()), "no data was written"

    # A different, fresh controller cluster (its own uuid, no topics).
    other = cluster_factory(1)
    other.start()
    other.wait_for_leader(timeout=15)
    other_uuid = cluster_uuid(other)
    assert other_uuid != own_uuid

    set_controllers(b, other)
    log_start = (b.dir / "broker.log").stat().st_size
    start_unready(b)
    try:
        def new_log() -> str:
            with open(b.dir / "broker.log", "rb") as f:
                f.seek(log_start)
                return f.read().decode(errors="replace")

        refusal = wait_until(
            lambda: next((line for line in new_log().splitlines()
                          if "ERROR" in line and own_uuid in line and other_uuid in line), None),
            20, "the broker to log its refusal of the other cluster")
        print(f"refusal: {refusal}")
        # Give a wrong broker every chance to do damage: several retries.
        time.sleep(3)
        assert b.proc.poll() is None, f"the broker exited:\n{new_log()[-3000:]}"
        assert healthz(b) == 503, "the broker must not become ready on another cluster's word"
        log = new_log()
        assert "ready:" not in log, log[-3000:]
        assert "moved to" not in log and "removed the data" not in log, log[-3000:]
        assert files_under(topics_dir) == before, "topic data changed"
        assert not (b.dir / "data" / "trash").exists()
        # Not even registered with the other cluster.
        brokers = other.call("ListBrokers", pb.ListBrokersRequest())
        assert [x.id for x in brokers.brokers] == [], brokers
    finally:
        b.stop()

    # Back to its own cluster: the old records are served.
    set_controllers(b, cluster)
    b.start()
    try:
        cons = kcat("-b", b.bootstrap, "-C", "-t", "orders", "-o", "beginning", "-e",
                    "-f", "%k:%s\n")
        assert cons.returncode == 0, cons.stderr
        assert sorted(line for line in cons.stdout.splitlines() if line) == sorted(orders)
        consumer = KafkaConsumer(bootstrap_servers=b.bootstrap, enable_auto_commit=False,
                                 auto_offset_reset="earliest", consumer_timeout_ms=3000)
        consumer.assign([TopicPartition("audit", 0)])
        consumer.seek_to_beginning()
        got = [r.value.decode() for r in consumer]
        consumer.close()
        assert got == audit
    finally:
        b.stop()


@pytest.mark.timeout(120)
def test_a_deleted_topic_becomes_a_tombstone_removed_after_the_delay(cluster: Cluster,
                                                                     tmp_path: Path):
    delay_ms = 4000
    b = Broker(cluster, tmp_path)
    with open(b.dir / "broker.yaml", "a", encoding="utf-8") as f:
        f.write(f"log_delete_delay_ms: {delay_ms}\n")
    b.start()
    try:
        fjord(cluster, "topic", "create", "doomed", "-p", "1", "--wait=15s")
        assert kcat("-b", b.bootstrap, "-P", "-t", "doomed",
                    stdin="one\ntwo\nthree\n").returncode == 0
        (topic_dir,) = list((b.dir / "data" / "topics").iterdir())
        uuid = topic_dir.name
        segments = {k for k, v in files_under(topic_dir).items() if k.endswith(".log") and v}
        assert segments, files_under(topic_dir).keys()

        fjord(cluster, "topic", "delete", "doomed", "--wait=15s")
        trash = b.dir / "data" / "trash"
        (tomb,) = wait_until(lambda: list(trash.glob(f"{uuid}.*")) if trash.exists() else [],
                             10, "the deleted topic's tombstone")
        assert not topic_dir.exists()
        m = re.fullmatch(rf"{uuid}\.(\d+)\.(\d+)", tomb.name)
        assert m, tomb.name
        deleted_ms = int(m.group(2))  # the broker's wall clock when it moved the data
        assert segments <= set(files_under(tomb)), "the tombstone holds the topic's data"

        # A crash before the delay has passed: the restarted broker reclaims.
        b.kill()
        assert tomb.exists()
        log_start = (b.dir / "broker.log").stat().st_size
        b.start()
        wait_until(lambda: not tomb.exists(), delay_ms / 1000 + 10,
                   "the tombstone to be reclaimed after the restart")
        elapsed_ms = time.time() * 1000 - deleted_ms
        assert elapsed_ms >= delay_ms, f"reclaimed {elapsed_ms:.0f} ms after the deletion"
        with open(b.dir / "broker.log", "rb") as f:
            f.seek(log_start)
            assert f"removed the data of deleted topic {uuid}" in f.read().decode(errors="replace")

        # The name again is a new topic, empty, next to nothing old.
        fjord(cluster, "topic", "create", "doomed", "-p", "1", "--wait=15s")
        cons = kcat("-b", b.bootstrap, "-C", "-t", "doomed", "-o", "beginning", "-e")
        assert cons.returncode == 0 and cons.stdout.strip() == "", cons.stdout
    finally:
        b.stop()
