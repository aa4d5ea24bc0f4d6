"""`fjord topic trim-prefix` (DeleteRecords through librdkafka) against a real
broker: what kcat and kafka-python read afterwards, ListOffsets earliest, the
new start surviving SIGKILL and restart, offsets by timestamp and from a
file, the confirmation prompt, and clear errors with rpk's exit codes. Also
an idle partition's records going by retention.ms without any further
produce (the idle segment roll, then retention of the rolled segment).

Every process is started by the fixtures on loopback and stopped by pid.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from conftest import BUILD_DIR, Broker, Cluster, fjord, kcat, wait_until

FJORD = BUILD_DIR / "bin" / "fjord"


def trim(cluster: Cluster, broker: Broker, *args: str, stdin: str | None = None,
         check: bool = True) -> subprocess.CompletedProcess:
    controllers = ",".join(m.api for m in cluster.members.values())
    p = subprocess.run([str(FJORD), "-X", f"controllers={controllers}", "-X",
                        f"brokers={broker.bootstrap}", *args], input=stdin, capture_output=True,
                       text=True, timeout=60, env={"HOME": "/nonexistent", "PATH": "/usr/bin:/bin"})
    if check:
        assert p.returncode == 0, f"fjord {' '.join(args)}: {p.stdout}\n{p.stderr}"
    return p


def produce(broker: Broker, topic: str, n: int, partition: int = 0,
            timestamps: list[int] | None = None) -> None:
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=0)
    for i in range(n):
        producer.send(topic, b"v%d" % i, partition=partition,
                      timestamp_ms=timestamps[i] if timestamps else None).get(timeout=10)
    producer.close(timeout=5)


def kcat_offsets(broker: Broker, topic: str, partition: int = 0) -> list[int]:
    c = kcat("-b", broker.bootstrap, "-C", "-t", topic, "-p", str(partition), "-o", "beginning",
             "-e", "-f", "%o\n")
    assert c.returncode == 0, c.stderr
    return [int(x) for x in c.stdout.split()]


def watermarks(broker: Broker, topic: str, partition: int = 0) -> tuple[int, int]:
    """ListOffsets earliest and latest, through kafka-python."""
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    try:
        tp = TopicPartition(topic, partition)
        return (consumer.beginning_offsets([tp])[tp], consumer.end_offsets([tp])[tp])
    finally:
        consumer.close()


def python_offsets(broker: Broker, topic: str, partition: int = 0) -> list[int]:
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=3000)
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        return [r.offset for r in consumer]
    finally:
        consumer.close()


def test_trim_prefix_moves_the_start_for_every_client_and_survives_sigkill(cluster: Cluster,
                                                                            broker: Broker):
    fjord(cluster, "topic", "create", "trimmed", "-p", "1", "--wait=15s")
    produce(broker, "trimmed", 20)
    assert watermarks(broker, "trimmed") == (0, 20)

    p = trim(cluster, broker, "topic", "trim-prefix", "trimmed", "-o", "10", "--no-confirm")
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["TOPIC", "PARTITION", "NEW-START-OFFSET", "ERROR"], p.stdout
    assert lines[1].split() == ["trimmed", "0", "10"], p.stdout

    assert kcat_offsets(broker, "trimmed") == list(range(10, 20))
    assert python_offsets(broker, "trimmed") == list(range(10, 20))
    assert watermarks(broker, "trimmed") == (10, 20)

    # Durable before the answer: a SIGKILL right after changes nothing.
    broker.kill()
    broker.start()
    wait_until(lambda: watermarks(broker, "trimmed") == (10, 20), 20, "the trimmed start back")
    assert kcat_offsets(broker, "trimmed") == list(range(10, 20))

    # Below the start trims nothing and succeeds with the start (Kafka's rule);
    # the alias and JSON output.
    p = trim(cluster, broker, "--format", "json", "topic", "trim", "trimmed", "-o", "5",
             "--no-confirm")
    assert json.loads(p.stdout) == [{"topic": "trimmed", "partition": 0, "new_start_offset": 10}]

    # -o end: everything readable goes; appends go on after it.
    trim(cluster, broker, "topic", "trim-prefix", "trimmed", "-o", "end", "--no-confirm")
    assert watermarks(broker, "trimmed") == (20, 20)
    assert kcat_offsets(broker, "trimmed") == []
    produce(broker, "trimmed", 2)
    assert kcat_offsets(broker, "trimmed") == [20, 21]
    broker.stop()
    broker.start()
    wait_until(lambda: watermarks(broker, "trimmed") == (20, 22), 20, "the start after a restart")


def test_trim_prefix_by_timestamp_partitions_and_from_a_file(cluster: Cluster, broker: Broker,
                                                            tmp_path: Path):
    fjord(cluster, "topic", "create", "multi", "-p", "3", "--wait=15s")
    base = int(time.time() * 1000) - 100_000
    for part in range(3):
        produce(broker, "multi", 10, partition=part,
                timestamps=[base + 1000 * i for i in range(10)])

    # -p picks partitions; @ms trims records older than that time.
    trim(cluster, broker, "topic", "trim-prefix", "multi", "-p", "0,2", "-o", f"@{base + 4000}",
         "--no-confirm")
    assert [watermarks(broker, "multi", part)[0] for part in range(3)] == [4, 0, 4]

    # A file of lines; JSON and YAML mappings are accepted too.
    plan = tmp_path / "plan.txt"
    plan.write_text("# topic partition offset\nmulti 1 7\nmulti 2 end\n")
    p = trim(cluster, broker, "topic", "trim-prefix", "--from-file", str(plan), "--no-confirm")
    assert [ln.split() for ln in p.stdout.splitlines()[1:]] == [["multi", "1", "7"],
                                                                ["multi", "2", "10"]]
    (tmp_path / "plan.json").write_text(json.dumps({"multi": {"0": 6}}))
    trim(cluster, broker, "topic", "trim", "-f", str(tmp_path / "plan.json"), "--no-confirm")
    assert [watermarks(broker, "multi", part)[0] for part in range(3)] == [6, 7, 10]
    assert kcat_offsets(broker, "multi", 1) == [7, 8, 9]


def test_trim_prefix_asks_first_and_fails_clearly(cluster: Cluster, broker: Broker):
    fjord(cluster, "topic", "create", "guarded", "-p", "2", "--wait=15s")
    produce(broker, "guarded", 5)

    # The plan, then a question: anything but yes cancels (exit 0, as rpk);
    # a closed stdin is a usage error naming --no-confirm.
    p = trim(cluster, broker, "topic", "trim-prefix", "guarded", "-o", "3", "-p", "0", stdin="n\n")
    assert "NEW-START-OFFSET" in p.stdout and "Confirm? [y/N]" in p.stdout
    assert "Trim canceled." in p.stdout
    assert watermarks(broker, "guarded")[0] == 0
    p = trim(cluster, broker, "topic", "trim-prefix", "guarded", "-o", "3", "-p", "0", stdin="",
             check=False)
    assert p.returncode == 2 and "--no-confirm" in p.stderr, p.stderr
    assert watermarks(broker, "guarded")[0] == 0
    trim(cluster, broker, "topic", "trim-prefix", "guarded", "-o", "3", "-p", "0", stdin="y\n")
    assert watermarks(broker, "guarded")[0] == 3

    # Beyond the high watermark: the partition's row carries Kafka's error, exit 1.
    p = trim(cluster, broker, "topic", "trim-prefix", "guarded", "-o", "100", "--no-confirm",
             check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    rows = {ln.split()[1]: ln for ln in p.stdout.splitlines()[1:]}
    assert "OFFSET_OUT_OF_RANGE" in rows["0"] and "OFFSET_OUT_OF_RANGE" in rows["1"], p.stdout
    assert watermarks(broker, "guarded")[0] == 3

    # Unknown topics and partitions fail (1); bad flags are usage errors (2)
    # naming the flag.
    p = trim(cluster, broker, "topic", "trim-prefix", "nope", "-o", "1", "--no-confirm",
             check=False)
    assert p.returncode == 1 and "nope" in p.stderr, p.stderr
    p = trim(cluster, broker, "topic", "trim-prefix", "guarded", "-o", "1", "-p", "7",
             "--no-confirm", check=False)
    assert p.returncode == 1 and "no partition 7" in p.stderr, p.stderr
    for args, flag in ((["guarded", "-o", "ten"], "-o/--offset"),
                       (["guarded", "-o", "-3"], "-o/--offset"),
                       (["guarded"], "-o/--offset is required"),
                       (["guarded", "-o", "1", "-f", "x.txt"], "-f/--from-file"),
                       (["-f", "/nonexistent/plan.txt"], "-f/--from-file"),
                       ([], "-f/--from-file is required")):
        p = trim(cluster, broker, "topic", "trim-prefix", *args, "--no-confirm", check=False)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert p.stderr.startswith("fjord: ") and flag in p.stderr, (args, p.stderr)


def test_an_idle_partition_is_emptied_by_retention(cluster: Cluster, broker: Broker):
    """segment.ms=1000, retention.ms=2000: no produce after the records, yet
    the idle roll and retention take them within seconds."""
    fjord(cluster, "topic", "create", "idle", "-p", "1", "-c", "segment.ms=1000", "-c",
          "retention.ms=2000", "--wait=15s")
    produce(broker, "idle", 5)
    assert watermarks(broker, "idle") == (0, 5)
    wait_until(lambda: watermarks(broker, "idle") == (5, 5), 15, "retention of the idle segment")
    assert kcat_offsets(broker, "idle") == []
    produce(broker, "idle", 1)
    assert kcat_offsets(broker, "idle") == [5]
