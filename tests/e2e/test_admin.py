"""The Kafka admin APIs of fjord-broker, forwarded to a real 3-member
controller group, driven by kafka-python's KafkaAdminClient (CreateTopics v3,
DeleteTopics v3, CreatePartitions v1, DescribeConfigs v2, AlterConfigs v1),
by hand-made requests for what kafka-python 2.0.2 cannot send (the flexible
versions, IncrementalAlterConfigs, DescribeCluster, Metadata v4's
allow_auto_topic_creation), and by kcat for the data path. Every change is
checked where a user would look: Metadata right after the answer, kcat,
and `fjord topic describe` (the controller's view).

Every process is started by the fixtures (conftest.spawn) on loopback ports
chosen free, and stopped by pid at teardown.
"""

from __future__ import annotations

import json
import socket
import struct
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import (ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions,
                         NewTopic)
from kafka.errors import (InvalidConfigurationError, InvalidPartitionsError,
                          InvalidReplicationFactorError, InvalidRequestError, InvalidTopicError,
                          KafkaTimeoutError, NotControllerError, TopicAlreadyExistsError,
                          UnknownTopicOrPartitionError)

from conftest import Broker, Cluster, fjord, kcat, read_response, wait_until

# Kafka error codes the tests look for.
NONE, UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE = 0, 3, 5
INVALID_CONFIG, POLICY_VIOLATION, UNKNOWN_TOPIC_ID = 40, 44, 100
# DescribeConfigs' ConfigSource.
DYNAMIC_TOPIC_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG, DEFAULT_CONFIG = 1, 3, 5


@pytest.fixture
def admin(broker: Broker):
    a = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=20000)
    yield a
    a.close()


def describe(cluster: Cluster, topic: str) -> dict:
    """`fjord topic describe` as JSON: the controller's view of the topic."""
    out = fjord(cluster, "topic", "describe", topic, "--format", "json").stdout
    [doc] = json.loads(out)
    return doc


def topic_configs(cluster: Cluster, topic: str) -> dict[str, str]:
    return {c["key"]: c["value"] for c in describe(cluster, topic)["configs"]}


def partitions_now(broker: Broker, topic: str):
    """What a fresh client's first Metadata says: no waiting, no retry."""
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    try:
        return consumer.partitions_for_topic(topic)
    finally:
        consumer.close()


# --------------------------------------------------------------------------
# Hand-made requests: just enough of the wire format (the kafka-protocol
# README of the project's shared notes) for the versions kafka-python 2.0.2
# lacks.


def i8(v: int) -> bytes:
    return struct.pack(">b", v)


def i16(v: int) -> bytes:
    return struct.pack(">h", v)


def i32(v: int) -> bytes:
    return struct.pack(">i", v)


def string(s: str | None) -> bytes:
    if s is None:
        return i16(-1)
    return i16(len(s.encode())) + s.encode()


def uvarint(n: int) -> bytes:
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def cstring(s: str | None) -> bytes:
    """A compact (flexible-version) string."""
    if s is None:
        return uvarint(0)
    return uvarint(len(s.encode()) + 1) + s.encode()


def carray(items: list[bytes]) -> bytes:
    return uvarint(len(items) + 1) + b"".join(items)


TAGS = uvarint(0)  # an empty tagged-field section


class Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        b = self.data[self.pos:self.pos + n]
        assert len(b) == n, "response truncated"
        self.pos += n
        return b

    def i8(self) -> int:
        return struct.unpack(">b", self.take(1))[0]

    def i16(self) -> int:
        return struct.unpack(">h", self.take(2))[0]

    def i32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def uvarint(self) -> int:
        n, shift = 0, 0
        while True:
            b = self.take(1)[0]
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def string(self) -> str | None:
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def cstring(self) -> str | None:
        n = self.uvarint()
        return None if n == 0 else self.take(n - 1).decode()

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(bytes=self.take(16))

    def array(self, item) -> list:
        return [item() for _ in range(self.i32())]

    def carray(self, item) -> list | None:
        n = self.uvarint()
        return None if n == 0 else [item() for _ in range(n - 1)]

    def tags(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def done(self) -> None:
        assert self.pos == len(self.data), f"{len(self.data) - self.pos} bytes left over"


def call(broker: Broker, api_key: int, version: int, body: bytes, flexible: bool,
         correlation: int = 11) -> Reader:
    """Sends one request; returns a Reader at the start of the response body."""
    header = i16(api_key) + i16(version) + i32(correlation) + string("test-admin")
    if flexible:
        header += TAGS
    msg = header + body
    with socket.create_connection(("127.0.0.1", broker.port), timeout=30) as s:
        s.sendall(i32(len(msg)) + msg)
        r = Reader(read_response(s))
    assert r.i32() == correlation
    if flexible:
        r.tags()
    return r


def metadata_v4(broker: Broker, topic: str, allow_auto_create: bool) -> int:
    """Metadata v4 for one topic; its error code."""
    r = call(broker, 3, 4, i32(1) + string(topic) + i8(int(allow_auto_create)), flexible=False)
    r.i32()  # throttle
    r.array(lambda: (r.i32(), r.string(), r.i32(), r.string()))  # brokers
    r.string()  # cluster id
    r.i32()  # controller id

    def partition():
        r.i16(), r.i32(), r.i32()
        r.array(r.i32)
        r.array(r.i32)

    def topic_item():
        err, name = r.i16(), r.string()
        r.i8()  # is_internal
        r.array(partition)
        return err, name

    [(err, name)] = r.array(topic_item)
    r.done()
    assert name == topic
    return err


# --------------------------------------------------------------------------
# CreateTopics / DeleteTopics / CreatePartitions through kafka-python.


def test_create_topics_is_visible_at_once_and_usable_by_kcat(cluster: Cluster, broker: Broker,
                                                             admin: KafkaAdminClient):
    # (kafka-python refuses -1/-1 without an assignment; the cluster
    # defaults are exercised with CreateTopics v5 by hand below.)
    admin.create_topics([NewTopic("orders", 3, 1),
                         NewTopic("configured", 1, 1, topic_configs={"retention.ms": "3600000"})],
                        timeout_ms=15000)
    # The answer waited for this broker's view: the very next Metadata has it.
    assert partitions_now(broker, "orders") == {0, 1, 2}
    assert partitions_now(broker, "configured") == {0}
    d = describe(cluster, "orders")
    assert (d["summary"]["partitions"], d["summary"]["replicas"]) == (3, 1)
    assert topic_configs(cluster, "configured") == {"retention.ms": "3600000"}

    lines = [f"k{i}:v{i}" for i in range(12)]
    prod = kcat("-b", broker.bootstrap, "-P", "-t", "orders", "-K:", stdin="\n".join(lines) + "\n")
    assert prod.returncode == 0, prod.stderr
    cons = kcat("-b", broker.bootstrap, "-C", "-t", "orders", "-o", "beginning", "-e",
                "-f", "%k:%s\n")
    assert cons.returncode == 0, cons.stderr
    assert sorted(cons.stdout.split()) == sorted(lines)


def test_create_topics_refusals_are_kafka_errors(cluster: Cluster, broker: Broker,
                                                 admin: KafkaAdminClient):
    admin.create_topics([NewTopic("taken", 1, 1)])
    with pytest.raises(TopicAlreadyExistsError):
        admin.create_topics([NewTopic("taken", 2, 1)])
    with pytest.raises(InvalidPartitionsError):
        admin.create_topics([NewTopic("zero", 0, 1)])
    with pytest.raises(InvalidReplicationFactorError):  # even, and more than the one broker
        admin.create_topics([NewTopic("rf2", 1, 2)])
    with pytest.raises(InvalidTopicError):
        admin.create_topics([NewTopic("bad/name", 1, 1)])
    with pytest.raises(InvalidConfigurationError):
        admin.create_topics([NewTopic("badcfg", 1, 1, topic_configs={"retention.ms": "soon"})])
    with pytest.raises(InvalidRequestError):  # manual assignment: not mapped, refused
        admin.create_topics([NewTopic("manual", -1, -1, replica_assignments={0: [1]})])
    # validate_only answers as a create would, and creates nothing.
    admin.create_topics([NewTopic("dry", 2, 1)], validate_only=True)
    with pytest.raises(InvalidPartitionsError):
        admin.create_topics([NewTopic("dry", 0, 1)], validate_only=True)
    listed = fjord(cluster, "topic", "list", "--format", "json").stdout
    assert [t["name"] for t in json.loads(listed)] == ["taken"]
    assert describe(cluster, "taken")["summary"]["partitions"] == 1


def test_delete_topics_and_create_partitions(cluster: Cluster, broker: Broker,
                                             admin: KafkaAdminClient):
    admin.create_topics([NewTopic("grow", 1, 1), NewTopic("doomed", 2, 1)])
    admin.create_partitions({"grow": NewPartitions(3)})
    assert partitions_now(broker, "grow") == {0, 1, 2}
    assert describe(cluster, "grow")["summary"]["partitions"] == 3
    with pytest.raises(InvalidPartitionsError):  # partitions are only ever added
        admin.create_partitions({"grow": NewPartitions(2)})
    admin.create_partitions({"grow": NewPartitions(5)}, validate_only=True)
    assert describe(cluster, "grow")["summary"]["partitions"] == 3
    with pytest.raises(UnknownTopicOrPartitionError):
        admin.create_partitions({"nothere": NewPartitions(2)})
    prod = kcat("-b", broker.bootstrap, "-P", "-t", "grow", "-p", "2", stdin="in-new-partition\n")
    assert prod.returncode == 0, prod.stderr

    admin.delete_topics(["doomed"], timeout_ms=15000)
    assert partitions_now(broker, "doomed") is None  # gone from the very next Metadata
    assert fjord(cluster, "topic", "describe", "doomed", check=False).returncode != 0
    with pytest.raises(UnknownTopicOrPartitionError):
        admin.delete_topics(["doomed"])


# --------------------------------------------------------------------------
# Configs.


def synonyms_of(entry) -> list[tuple[str, str, int]]:
    return [(s[0], s[1], s[2]) for s in entry[5]]


def test_describe_and_alter_topic_configs(cluster: Cluster, broker: Broker,
                                          admin: KafkaAdminClient):
    fjord(cluster, "cluster", "config", "set", "log_segment_size=2097152", "--wait=15s")
    admin.create_topics([NewTopic("cfg", 1, 1)])
    [resp] = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "cfg")],
                                    include_synonyms=True)
    [(err, _, _, name, entries)] = resp.resources
    assert (err, name) == (NONE, "cfg")
    by_name = {e[0]: e for e in entries}
    assert {"retention.ms", "segment.bytes", "cleanup.policy", "max.message.bytes"} <= set(by_name)
    assert by_name["retention.ms"][1] == "604800000"
    assert synonyms_of(by_name["retention.ms"]) == [("log_retention_ms", "604800000",
                                                      DEFAULT_CONFIG)]
    # A cluster-wide default set with `fjord cluster config` shows as such.
    assert by_name["segment.bytes"][1] == "2097152"
    assert synonyms_of(by_name["segment.bytes"])[0] == ("log_segment_size", "2097152",
                                                        DYNAMIC_DEFAULT_BROKER_CONFIG)

    resp = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "cfg",
                                               configs={"retention.ms": "3600000",
                                                        "segment.ms": "60000"})])
    assert [r[0] for r in resp.resources] == [NONE]
    assert topic_configs(cluster, "cfg") == {"retention.ms": "3600000", "segment.ms": "60000"}
    shown = fjord(cluster, "topic", "describe", "cfg").stdout
    assert "retention.ms" in shown and "3600000" in shown
    # Read-your-writes on this broker too.
    [resp] = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, "cfg", configs={"retention.ms": None})],
        include_synonyms=True)
    [entry] = resp.resources[0][4]
    assert entry[1] == "3600000"
    assert synonyms_of(entry)[0] == ("retention.ms", "3600000", DYNAMIC_TOPIC_CONFIG)

    # AlterConfigs is the whole set, as in Kafka: segment.ms goes back to its default.
    resp = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "cfg",
                                               configs={"retention.ms": "7200000"})])
    assert [r[0] for r in resp.resources] == [NONE]
    assert topic_configs(cluster, "cfg") == {"retention.ms": "7200000"}

    resp = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "cfg",
                                               configs={"retention.ms": "soon"}),
                                ConfigResource(ConfigResourceType.TOPIC, "nothere",
                                               configs={"retention.ms": "1"}),
                                ConfigResource(ConfigResourceType.BROKER, str(broker.id),
                                               configs={"log.retention.ms": "1"})])
    codes = {r[3]: (r[0], r[1]) for r in resp.resources}
    assert codes["cfg"][0] == INVALID_CONFIG and "retention.ms" in codes["cfg"][1]
    assert codes["nothere"][0] == UNKNOWN_TOPIC_OR_PARTITION
    assert codes[str(broker.id)][0] == POLICY_VIOLATION
    assert "fjord cluster config" in codes[str(broker.id)][1]
    assert topic_configs(cluster, "cfg") == {"retention.ms": "7200000"}


def test_describe_broker_configs(cluster: Cluster, broker: Broker, admin: KafkaAdminClient):
    fjord(cluster, "cluster", "config", "set", "default_topic_partitions=4", "--wait=15s")
    [resp] = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, str(broker.id))],
                                    include_synonyms=True)
    [(err, _, _, _, entries)] = resp.resources
    assert err == NONE
    by_name = {e[0]: e for e in entries}
    assert by_name["broker.id"][1] == str(broker.id)
    assert by_name["listeners"][1] == f"PLAINTEXT://{broker.bootstrap}"
    assert by_name["num.partitions"][1] == "4"
    assert synonyms_of(by_name["num.partitions"])[0] == ("default_topic_partitions", "4",
                                                         DYNAMIC_DEFAULT_BROKER_CONFIG)
    assert by_name["auto.create.topics.enable"][1] == "false"
    assert all(e[2] for e in entries), "broker configs are read-only"


# --------------------------------------------------------------------------
# What kafka-python cannot send: by hand.


def incremental_alter(broker: Broker, topic: str, ops: list[tuple[str, int, str | None]]) -> tuple:
    """IncrementalAlterConfigs v0 on one topic; (error_code, error_message)."""
    configs = b"".join(string(k) + i8(op) + string(v) for k, op, v in ops)
    body = i32(1) + i8(2) + string(topic) + i32(len(ops)) + configs + i8(0)
    r = call(broker, 44, 0, body, flexible=False)
    r.i32()
    [item] = r.array(lambda: (r.i16(), r.string(), r.i8(), r.string()))
    r.done()
    return item[0], item[1]


def test_incremental_alter_configs(cluster: Cluster, broker: Broker, admin: KafkaAdminClient):
    admin.create_topics([NewTopic("inc", 1, 1, topic_configs={"retention.ms": "60000"})])
    SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
    assert incremental_alter(broker, "inc", [("cleanup.policy", APPEND, "compact"),
                                             ("segment.ms", SET, "120000"),
                                             ("retention.ms", DELETE, None)]) == (NONE, None)
    assert topic_configs(cluster, "inc") == {"cleanup.policy": "delete,compact",
                                             "segment.ms": "120000"}
    assert incremental_alter(broker, "inc", [("cleanup.policy", SUBTRACT, "delete")]) == (NONE,
                                                                                         None)
    assert topic_configs(cluster, "inc")["cleanup.policy"] == "compact"
    err, msg = incremental_alter(broker, "inc", [("retention.ms", APPEND, "5")])
    assert err == INVALID_CONFIG and "list" in msg
    err, msg = incremental_alter(broker, "inc", [("segment.ms", SET, "-3")])
    assert err == INVALID_CONFIG and "segment.ms" in msg
    assert topic_configs(cluster, "inc") == {"cleanup.policy": "compact", "segment.ms": "120000"}


def test_flexible_versions_create_v5_delete_v6_by_id_describe_cluster(cluster: Cluster,
                                                                      broker: Broker):
    # CreateTopics v5: the answer carries the created topic's shape and configs.
    topic = cstring("flex") + i32(-1) + i16(-1) + carray([]) + \
        carray([cstring("retention.ms") + cstring("120000") + TAGS]) + TAGS
    r = call(broker, 19, 5, carray([topic]) + i32(15000) + i8(0) + TAGS, flexible=True)
    r.i32()

    def created():
        name, err, msg = r.cstring(), r.i16(), r.cstring()
        parts, rf = r.i32(), r.i16()
        cfgs = r.carray(lambda: (r.cstring(), r.cstring(), r.i8(), r.i8(), r.i8(), r.tags())[:4])
        r.tags()
        return name, err, msg, parts, rf, cfgs

    [(name, err, msg, parts, rf, cfgs)] = r.carray(created)
    r.tags()
    r.done()
    assert (name, err, msg, parts, rf) == ("flex", NONE, None, 1, 1)
    by_name = {c[0]: c for c in cfgs}
    assert by_name["retention.ms"][1:] == ("120000", 0, DYNAMIC_TOPIC_CONFIG)  # value, ro, source
    assert by_name["cleanup.policy"][1:] == ("delete", 0, DEFAULT_CONFIG)

    # DescribeCluster v0: this broker, the cluster's id, and itself as "controller".
    r = call(broker, 60, 0, i8(0) + TAGS, flexible=True)
    r.i32()
    err, msg, cluster_id, controller = r.i16(), r.cstring(), r.cstring(), r.i32()
    brokers = r.carray(lambda: (r.i32(), r.cstring(), r.i32(), r.cstring(), r.tags())[:4])
    r.i32()
    r.tags()
    r.done()
    assert (err, msg, controller) == (NONE, None, broker.id)
    assert len(cluster_id) == 36
    assert brokers == [(broker.id, "127.0.0.1", broker.port, None)]

    # DeleteTopics v6 by topic id (the id `fjord topic describe` shows).
    topic_id = uuid.UUID(describe(cluster, "flex")["summary"]["uuid"])
    unknown_id = uuid.UUID(int=topic_id.int ^ 1)
    body = carray([cstring(None) + topic_id.bytes + TAGS,
                   cstring(None) + unknown_id.bytes + TAGS]) + i32(15000) + TAGS
    r = call(broker, 20, 6, body, flexible=True)
    r.i32()
    results = r.carray(lambda: (r.cstring(), r.uuid(), r.i16(), r.cstring(), r.tags())[:4])
    r.tags()
    r.done()
    assert results[0] == ("flex", topic_id, NONE, None)
    assert results[1][1:3] == (unknown_id, UNKNOWN_TOPIC_ID)
    assert partitions_now(broker, "flex") is None


# --------------------------------------------------------------------------
# Auto-creation, and the controller out of reach.


@pytest.mark.timeout(180)
def test_auto_creation_follows_the_cluster_config(cluster: Cluster, broker: Broker):
    # Off (the default): an unknown topic stays unknown, whatever the client allows.
    assert metadata_v4(broker, "auto-off", allow_auto_create=True) == UNKNOWN_TOPIC_OR_PARTITION
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, max_block_ms=1500)
    with pytest.raises(KafkaTimeoutError):  # its metadata never names the topic
        producer.send("auto-off", b"x").get(timeout=5)
    producer.close()
    prod = kcat("-b", broker.bootstrap, "-P", "-t", "auto-off",
                "-X", "topic.metadata.propagation.max.ms=1000", stdin="x\n")
    assert prod.returncode != 0
    assert "Unknown topic or partition" in prod.stderr, prod.stderr
    assert fjord(cluster, "topic", "describe", "auto-off", check=False).returncode != 0

    fjord(cluster, "cluster", "config", "set", "auto_create_topics_enabled=true", "--wait=15s")
    # A client that does not allow it still gets "unknown", and nothing is created.
    assert metadata_v4(broker, "auto-no", allow_auto_create=False) == UNKNOWN_TOPIC_OR_PARTITION
    # One that allows it hears LEADER_NOT_AVAILABLE until the topic exists.
    assert metadata_v4(broker, "auto-on", allow_auto_create=True) == LEADER_NOT_AVAILABLE
    wait_until(lambda: metadata_v4(broker, "auto-on", allow_auto_create=True) == NONE, 15,
               "the auto-created topic in Metadata")
    assert describe(cluster, "auto-on")["summary"]["partitions"] == 1
    assert fjord(cluster, "topic", "describe", "auto-no", check=False).returncode != 0

    # kcat just produces to a new topic, and reads it back.
    prod = kcat("-b", broker.bootstrap, "-P", "-t", "auto-kcat", stdin="first\nsecond\n")
    assert prod.returncode == 0, prod.stderr
    cons = kcat("-b", broker.bootstrap, "-C", "-t", "auto-kcat", "-o", "beginning", "-e")
    assert cons.returncode == 0, cons.stderr
    assert cons.stdout.split() == ["first", "second"]
    assert describe(cluster, "auto-kcat")["summary"]["partitions"] == 1


def test_unreachable_controller_is_not_controller(cluster: Cluster, broker: Broker,
                                                  admin: KafkaAdminClient):
    admin.create_topics([NewTopic("before", 1, 1)])
    cluster.stop_all()
    # kafka-python refreshes its controller and retries once, then gives up.
    with pytest.raises(NotControllerError):
        admin.create_topics([NewTopic("after", 1, 1)], timeout_ms=3000)
    # Reads the broker serves from its cache keep working.
    [resp] = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "before")])
    assert resp.resources[0][0] == NONE
    assert partitions_now(broker, "before") == {0}
