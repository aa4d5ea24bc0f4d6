"""The broker's side of security, with real clients against real processes.

Three controllers, one fjord-broker with SASL and authorization switched on
through the cluster config (enable_sasl, sasl_mechanisms, superusers), users
and ACL bindings created over gRPC (the controller API), and clients nobody
here wrote:

- kcat (librdkafka: SaslHandshake v1 + SaslAuthenticate) and kafka-python
  (SaslHandshake v0 + raw tokens) log in with PLAIN, SCRAM-SHA-256 and
  SCRAM-SHA-512; a wrong password and an unknown user are refused with the
  same answer, and the connection is closed; a Kafka request before logging
  in closes the connection.
- Kafka's operation table: every broker API a client sends, by an allowed
  principal and a denied one, with the exact error code, and the state
  checked afterwards (nothing written, created, committed or changed).
- An ACL created (or deleted) applies to the very next request on an open
  connection, once the broker has applied the controller's revision.
- The Kafka ACL API (CreateAcls/DescribeAcls/DeleteAcls through
  kafka-python's admin client, as a superuser).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import struct
import time
import urllib.request

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ACL, ACLFilter, ACLOperation, ACLPermissionType, ResourcePattern
from kafka.admin import ResourcePatternFilter, ResourceType
from kafka.conn import BrokerConnection
from kafka.protocol.admin import (AlterConfigsRequest, CreateAclsRequest, CreatePartitionsRequest,
                                  CreateTopicsRequest, DeleteTopicsRequest, DescribeAclsRequest,
                                  DescribeConfigsRequest, DescribeGroupsRequest, ListGroupsRequest)
from kafka.protocol.commit import (GroupCoordinatorRequest, OffsetCommitRequest,
                                   OffsetFetchRequest)
from kafka.protocol.fetch import FetchRequest
from kafka.protocol.group import HeartbeatRequest, JoinGroupRequest
from kafka.protocol.metadata import MetadataRequest
from kafka.protocol.offset import OffsetRequest
from kafka.protocol.produce import ProduceRequest
from kafka.record import MemoryRecordsBuilder

from conftest import Broker, Cluster, kcat, md, pb, wait_until

TOPIC = "orders"
GROUP = "billing"
USERS = {  # name: (password, SCRAM mechanism of its credential)
    "admin": ("admin-secret", "SCRAM-SHA-512"),
    "alice": ("alice-secret", "SCRAM-SHA-256"),
    "bob": ("bob-secret", "SCRAM-SHA-512"),
}

# Kafka's error codes checked here.
NONE = 0
TOPIC_AUTHORIZATION_FAILED = 29
GROUP_AUTHORIZATION_FAILED = 30
CLUSTER_AUTHORIZATION_FAILED = 31
SASL_AUTHENTICATION_FAILED_TEXT = "Authentication failed: invalid username or password"


# ---------------------------------------------------------------- set-up


def binding(rtype, name, principal, op, perm=md.ACL_PERMISSION_ALLOW,
            pattern=md.ACL_PATTERN_LITERAL) -> md.AclBinding:
    return md.AclBinding(resource_type=rtype, resource_name=name, pattern_type=pattern,
                         principal=principal, host="*", operation=op, permission=perm)


def applied_revision(b: Broker) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{b.metrics_port}/metrics", timeout=2) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("fjord_broker_applied_revision "):
                return int(float(line.split()[1]))
    return 0


def wait_applied(b: Broker, revision: int) -> None:
    wait_until(lambda: applied_revision(b) >= revision, 10,
               f"broker {b.id} to apply revision {revision}")


def create_acls(cluster: Cluster, b: Broker, *bindings: md.AclBinding) -> None:
    r = cluster.call("CreateAcls", pb.CreateAclsRequest(bindings=list(bindings)))
    assert all(x.code == pb.OK for x in r.results), r
    wait_applied(b, r.revision)


def delete_acls(cluster: Cluster, b: Broker, f: md.AclFilter) -> None:
    r = cluster.call("DeleteAcls", pb.DeleteAclsRequest(filters=[f]))
    assert all(x.result.code == pb.OK for x in r.results), r
    wait_applied(b, r.revision)


@pytest.fixture
def secured(cluster: Cluster, tmp_path):
    """A cluster with SASL and authorization on, users admin (superuser),
    alice and bob, topic `orders` (2 partitions), and a broker following it."""
    for name, (password, mech) in USERS.items():
        r = cluster.call("CreateUser", pb.CreateUserRequest(name=name, password=password,
                                                              mechanism=mech))
        assert r.result.code == pb.OK, r
    r = cluster.call("SetClusterConfig", pb.SetClusterConfigRequest(upsert={
        "enable_sasl": "true", "sasl_mechanisms": "SCRAM,PLAIN", "superusers": "admin"}))
    assert all(x.code == pb.OK for x in r.results.values()), r
    b = Broker(cluster, tmp_path)
    b.start()
    r = cluster.call("CreateTopics", pb.CreateTopicsRequest(topics=[
        pb.CreateTopicsRequest.Item(name=TOPIC, partitions=2, replication_factor=1)]))
    assert r.topics[0].result.code == pb.OK, r
    wait_applied(b, r.revision)
    yield cluster, b
    b.stop()


# ---------------------------------------------------------------- clients


def connect(b: Broker, user: str, password: str | None = None,
            mechanism: str = "PLAIN") -> BrokerConnection:
    """A kafka-python connection logged in as `user` (SaslHandshake v0, raw tokens)."""
    c = BrokerConnection("127.0.0.1", b.port, socket.AF_INET, security_protocol="SASL_PLAINTEXT",
                         sasl_mechanism=mechanism, sasl_plain_username=user,
                         sasl_plain_password=password or USERS[user][0], api_version=(2, 5, 0),
                         request_timeout_ms=15000)
    assert c.connect_blocking(timeout=10), f"{user} could not log in with {mechanism}"
    return c


def ask(c: BrokerConnection, request, timeout: float = 15):
    """Sends `request` and returns its response (raises if the connection dies)."""
    fut = c.send(request)
    deadline = time.monotonic() + timeout
    while not fut.is_done and time.monotonic() < deadline:
        for resp, f in c.recv():
            f.success(resp)
        time.sleep(0.005)
    assert fut.is_done, f"no answer to {request} in {timeout}s"
    if fut.failed():
        raise fut.exception
    return fut.value


def kcat_sasl(b: Broker, user: str, password: str, mechanism: str, *args: str,
              stdin: str | None = None):
    return kcat("-b", b.bootstrap, "-X", "security.protocol=SASL_PLAINTEXT",
                "-X", f"sasl.mechanisms={mechanism}", "-X", f"sasl.username={user}",
                "-X", f"sasl.password={password}", *args, stdin=stdin, timeout=30)


def records(*values: bytes) -> bytes:
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
    for v in values:
        builder.append(timestamp=int(time.time() * 1000), key=None, value=v, headers=[])
    builder.close()
    return bytes(builder.buffer())


def produce(c: BrokerConnection, value: bytes, partition: int = 0) -> int:
    resp = ask(c, ProduceRequest[3](transactional_id=None, required_acks=1, timeout=5000,
                                    topics=[(TOPIC, [(partition, records(value))])]))
    return resp.topics[0][1][0][1]


def end_offset(c: BrokerConnection, partition: int = 0) -> int:
    resp = ask(c, OffsetRequest[1](replica_id=-1, topics=[(TOPIC, [(partition, -1)])]))
    (_, error, _, offset) = resp.topics[0][1][0]
    assert error == NONE, resp
    return offset


def raw_sasl_connection(b: Broker, mechanism: bytes) -> socket.socket:
    """SaslHandshake v0 by hand; returns the socket for raw tokens."""
    s = socket.create_connection(("127.0.0.1", b.port), timeout=10)
    body = struct.pack(">h", len(mechanism)) + mechanism
    header = struct.pack(">hhi", 17, 0, 1) + struct.pack(">h", 4) + b"test"
    s.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
    size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
    resp = s.recv(size, socket.MSG_WAITALL)
    assert struct.unpack(">h", resp[4:6])[0] == NONE, resp
    return s


def closed_without_answer(s: socket.socket) -> bool:
    try:
        return s.recv(4) == b""
    except ConnectionResetError:
        return True


# ---------------------------------------------------------------- tests


@pytest.mark.timeout(180)
def test_logins_with_each_mechanism_and_refusals(secured):
    cluster, b = secured
    # librdkafka: SaslHandshake v1 + SaslAuthenticate, each mechanism.
    for mech, user in (("PLAIN", "alice"), ("PLAIN", "bob"), ("SCRAM-SHA-256", "alice"),
                       ("SCRAM-SHA-512", "bob")):
        r = kcat_sasl(b, user, USERS[user][0], mech, "-L")
        assert r.returncode == 0, f"kcat {mech} as {user}: {r.stderr}"
        assert f"broker {b.id} at" in r.stdout or "1 brokers" in r.stdout, r.stdout
    # A wrong password and an unknown user: one message, whatever the reason.
    for user, password in (("alice", "not-it"), ("mallory", "not-it")):
        r = kcat_sasl(b, user, password, "SCRAM-SHA-256", "-L", "-m", "2")
        assert r.returncode != 0, r.stdout
        assert SASL_AUTHENTICATION_FAILED_TEXT in r.stderr, r.stderr

    # kafka-python: SaslHandshake v0, then raw tokens, each mechanism.
    for mech, user in (("PLAIN", "alice"), ("SCRAM-SHA-256", "alice"), ("SCRAM-SHA-512", "bob")):
        c = connect(b, user, mechanism=mech)
        ask(c, MetadataRequest[1](topics=None))
        c.close()
    # Raw PLAIN refused (wrong password, unknown user): closed, no answer.
    for token in (b"\0alice\0not-it", b"\0mallory\0not-it"):
        s = raw_sasl_connection(b, b"PLAIN")
        s.sendall(struct.pack(">i", len(token)) + token)
        assert closed_without_answer(s), token
        s.close()
    # SCRAM by hand, with a correct proof over the message as sent: with
    # this exchange's nonce it logs in; with one character of the nonce
    # changed (a replayed or spliced exchange) it is refused and closed.
    for tamper in (False, True):
        s = raw_sasl_connection(b, b"SCRAM-SHA-256")
        bare = "n=alice,r=fyko+d2lbbFgONRv9qkxdawL"
        s.sendall(struct.pack(">i", len(bare) + 3) + b"n,," + bare.encode())
        size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
        server_first = s.recv(size, socket.MSG_WAITALL).decode()
        attrs = dict(a.split("=", 1) for a in server_first.split(","))
        assert attrs["r"].startswith("fyko+d2lbbFgONRv9qkxdawL"), server_first
        sent = ("X" + attrs["r"][1:]) if tamper else attrs["r"]
        without_proof = f"c=biws,r={sent}"
        salted = hashlib.pbkdf2_hmac("sha256", USERS["alice"][0].encode(),
                                     base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        auth = f"{bare},{server_first},{without_proof}".encode()
        signature = hmac.new(hashlib.sha256(client_key).digest(), auth, "sha256").digest()
        proof = base64.b64encode(bytes(x ^ y for x, y in zip(client_key, signature))).decode()
        final = f"{without_proof},p={proof}".encode()
        s.sendall(struct.pack(">i", len(final)) + final)
        if tamper:
            assert closed_without_answer(s), "a foreign nonce was accepted"
        else:
            size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
            assert s.recv(size, socket.MSG_WAITALL).startswith(b"v="), "a good login refused"
        s.close()
    # A Kafka request before logging in: the connection is closed.
    s = socket.create_connection(("127.0.0.1", b.port), timeout=10)
    header = struct.pack(">hhi", 3, 1, 9) + struct.pack(">h", 4) + b"test"
    body = struct.pack(">i", -1)  # Metadata v1: all topics
    s.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
    assert closed_without_answer(s)
    s.close()
    # Records flow end to end with SASL: kcat (SCRAM-SHA-256) writes as a
    # superuser-granted alice, kafka-python (SCRAM-SHA-512) reads as bob.
    create_acls(cluster, b,
                binding(md.ACL_RESOURCE_TOPIC, TOPIC, "User:alice", md.ACL_OPERATION_WRITE),
                binding(md.ACL_RESOURCE_TOPIC, TOPIC, "User:bob", md.ACL_OPERATION_READ))
    r = kcat_sasl(b, "alice", USERS["alice"][0], "SCRAM-SHA-256", "-P", "-t", TOPIC, "-p", "0",
                  stdin="one\ntwo\n")
    assert r.returncode == 0, r.stderr
    consumer = KafkaConsumer(bootstrap_servers=b.bootstrap, security_protocol="SASL_PLAINTEXT",
                             sasl_mechanism="SCRAM-SHA-512", sasl_plain_username="bob",
                             sasl_plain_password=USERS["bob"][0], auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=5000)
    from kafka import TopicPartition
    consumer.assign([TopicPartition(TOPIC, 0)])
    got = [m.value for m in consumer]
    consumer.close()
    assert got == [b"one", b"two"], got


@pytest.mark.timeout(180)
def test_every_api_allowed_and_denied_with_nothing_written(secured):
    cluster, b = secured
    create_acls(
        cluster, b,
        binding(md.ACL_RESOURCE_TOPIC, TOPIC, "User:alice", md.ACL_OPERATION_ALL),
        binding(md.ACL_RESOURCE_GROUP, GROUP, "User:alice", md.ACL_OPERATION_READ),
        binding(md.ACL_RESOURCE_GROUP, GROUP, "User:alice", md.ACL_OPERATION_DESCRIBE),
        binding(md.ACL_RESOURCE_TOPIC, "alice-", "User:alice", md.ACL_OPERATION_CREATE,
                pattern=md.ACL_PATTERN_PREFIXED))
    alice, bob, admin = connect(b, "alice"), connect(b, "bob"), connect(b, "admin")

    # Metadata: only what one may describe.
    listed = lambda c: {t[1] for t in ask(c, MetadataRequest[1](topics=None)).topics}  # noqa: E731
    assert TOPIC in listed(alice) and TOPIC in listed(admin)
    assert TOPIC not in listed(bob)
    named = ask(bob, MetadataRequest[1](topics=[TOPIC])).topics[0]
    assert named[0] == TOPIC_AUTHORIZATION_FAILED, named

    # Produce: denied writes nothing.
    before = end_offset(admin)
    assert produce(bob, b"from bob") == TOPIC_AUTHORIZATION_FAILED
    assert end_offset(admin) == before
    assert produce(alice, b"from alice") == NONE
    assert end_offset(admin) == before + 1

    # Fetch and ListOffsets.
    fetch = FetchRequest[4](replica_id=-1, max_wait_time=100, min_bytes=1, max_bytes=1 << 20,
                            isolation_level=0, topics=[(TOPIC, [(0, 0, 1 << 20)])])
    assert ask(bob, fetch).topics[0][1][0][1] == TOPIC_AUTHORIZATION_FAILED
    assert ask(alice, fetch).topics[0][1][0][1] == NONE
    offsets = OffsetRequest[1](replica_id=-1, topics=[(TOPIC, [(0, -1)])])
    assert ask(bob, offsets).topics[0][1][0][1] == TOPIC_AUTHORIZATION_FAILED

    # Groups: FindCoordinator, OffsetCommit (nothing committed), OffsetFetch,
    # JoinGroup, Heartbeat, DescribeGroups, ListGroups (filtered).
    assert ask(bob, GroupCoordinatorRequest[0](GROUP)).error_code == GROUP_AUTHORIZATION_FAILED
    # The first ask creates the offsets topic: COORDINATOR_NOT_AVAILABLE meanwhile.
    wait_until(lambda: ask(alice, GroupCoordinatorRequest[0](GROUP)).error_code == NONE, 20,
               "the group coordinator")
    commit = lambda c, off: ask(c, OffsetCommitRequest[2](  # noqa: E731
        GROUP, -1, "", -1, [(TOPIC, [(0, off, "")])])).topics[0][1][0][1]
    assert commit(bob, 1) == GROUP_AUTHORIZATION_FAILED
    fetch_offset = OffsetFetchRequest[1](GROUP, [(TOPIC, [0])])
    assert ask(alice, fetch_offset).topics[0][1][0][1] == -1, "bob's commit was stored"
    assert ask(bob, fetch_offset).topics[0][1][0][3] == GROUP_AUTHORIZATION_FAILED
    assert commit(alice, 1) == NONE
    assert ask(alice, fetch_offset).topics[0][1][0][1] == 1
    join = JoinGroupRequest[2](GROUP, 10000, 10000, "", "consumer", [("range", b"")])
    assert ask(bob, join).error_code == GROUP_AUTHORIZATION_FAILED
    assert ask(bob, HeartbeatRequest[1](GROUP, 1, "m")).error_code == GROUP_AUTHORIZATION_FAILED
    assert ask(bob, DescribeGroupsRequest[0]([GROUP])).groups[0][0] == GROUP_AUTHORIZATION_FAILED
    assert ask(alice, DescribeGroupsRequest[0]([GROUP])).groups[0][0] == NONE
    assert GROUP not in {g[0] for g in ask(bob, ListGroupsRequest[1]()).groups}

    # Admin APIs: each denied one changes nothing.
    def topics() -> dict:
        return {t.name: t for t in cluster.call("ListTopics", pb.ListTopicsRequest()).topics}

    create = lambda c, name: ask(c, CreateTopicsRequest[3](  # noqa: E731
        [(name, 1, 1, [], [])], 10000, False)).topic_errors[0][1]
    assert create(bob, "bobs-topic") == TOPIC_AUTHORIZATION_FAILED
    assert create(alice, "other-topic") == TOPIC_AUTHORIZATION_FAILED
    assert create(alice, "alice-topic") == NONE  # CREATE on the prefix
    assert "bobs-topic" not in topics() and "other-topic" not in topics()
    assert create(admin, "admins-topic") == NONE  # a superuser
    assert ask(bob, DeleteTopicsRequest[1]([TOPIC], 10000)).topic_error_codes[0][1] == \
        TOPIC_AUTHORIZATION_FAILED
    more = CreatePartitionsRequest[0]([(TOPIC, (3, None))], 10000, False)
    assert ask(bob, more).topic_errors[0][1] == TOPIC_AUTHORIZATION_FAILED
    assert TOPIC in topics() and len(topics()[TOPIC].partitions) == 2
    describe = lambda c, rtype, name: ask(c, DescribeConfigsRequest[1](  # noqa: E731
        [(rtype, name, None)], False)).resources[0][0]
    assert describe(bob, 2, TOPIC) == TOPIC_AUTHORIZATION_FAILED
    assert describe(alice, 2, TOPIC) == NONE
    assert describe(bob, 4, str(b.id)) == CLUSTER_AUTHORIZATION_FAILED
    alter = AlterConfigsRequest[0]([(2, TOPIC, [("retention.ms", "1000")])], False)
    assert ask(bob, alter).resources[0][0] == TOPIC_AUTHORIZATION_FAILED
    assert topics()[TOPIC].configs.get("retention.ms") is None

    # The ACL API itself: cluster DESCRIBE / ALTER, for the superuser only.
    acls = DescribeAclsRequest[1](2, None, 1, None, None, 1, 1)
    assert ask(bob, acls).error_code == CLUSTER_AUTHORIZATION_FAILED
    described = ask(admin, acls)
    assert described.error_code == NONE
    assert any(r[1] == TOPIC for r in described.resources), described
    grant = CreateAclsRequest[1]([(2, TOPIC, 3, "User:bob", "*", 4, 3)])
    assert ask(bob, grant).creation_responses[0][0] == CLUSTER_AUTHORIZATION_FAILED
    acl_count = len(cluster.call("ListAcls", pb.ListAclsRequest()).bindings)
    assert acl_count == 4
    for c in (alice, bob, admin):
        c.close()


@pytest.mark.timeout(180)
def test_acl_changes_apply_to_the_next_request_without_reconnecting(secured):
    cluster, b = secured
    bob = connect(b, "bob", mechanism="SCRAM-SHA-512")
    assert produce(bob, b"denied") == TOPIC_AUTHORIZATION_FAILED
    create_acls(cluster, b,
                binding(md.ACL_RESOURCE_TOPIC, TOPIC, "User:bob", md.ACL_OPERATION_WRITE))
    # The broker applied the revision: the next request, same connection.
    assert produce(bob, b"allowed") == NONE
    # A DENY wins over the ALLOW, again at once.
    create_acls(cluster, b, binding(md.ACL_RESOURCE_TOPIC, TOPIC, "User:bob",
                                    md.ACL_OPERATION_WRITE, perm=md.ACL_PERMISSION_DENY))
    assert produce(bob, b"denied again") == TOPIC_AUTHORIZATION_FAILED
    delete_acls(cluster, b, md.AclFilter(principal="User:bob",
                                         permission=md.ACL_PERMISSION_DENY))
    assert produce(bob, b"allowed again") == NONE
    bob.close()

    # The Kafka ACL API (kafka-python's admin client, as the superuser).
    admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, security_protocol="SASL_PLAINTEXT",
                             sasl_mechanism="SCRAM-SHA-512", sasl_plain_username="admin",
                             sasl_plain_password=USERS["admin"][0], request_timeout_ms=15000)
    try:
        acl = ACL(principal="User:alice", host="*", operation=ACLOperation.READ,
                  permission_type=ACLPermissionType.ALLOW,
                  resource_pattern=ResourcePattern(ResourceType.TOPIC, TOPIC))
        created = admin.create_acls([acl])
        assert not created["failed"], created
        flt = ACLFilter(principal="User:alice", host=None, operation=ACLOperation.ANY,
                        permission_type=ACLPermissionType.ANY,
                        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None,
                                                               ACLResourcePatternTypeAny()))
        found, error = admin.describe_acls(flt)
        assert error.errno == NONE and any(a.operation == ACLOperation.READ for a in found), found
        # Answered after this broker applied it: alice reads at once.
        alice = connect(b, "alice", mechanism="SCRAM-SHA-256")
        fetch = FetchRequest[4](replica_id=-1, max_wait_time=100, min_bytes=1,
                                max_bytes=1 << 20, isolation_level=0,
                                topics=[(TOPIC, [(0, 0, 1 << 20)])])
        assert ask(alice, fetch).topics[0][1][0][1] == NONE
        deleted = admin.delete_acls([flt])
        assert deleted[0][1] and len(deleted[0][1]) == 1, deleted
        assert ask(alice, fetch).topics[0][1][0][1] == TOPIC_AUTHORIZATION_FAILED
        alice.close()
    finally:
        admin.close()


def ACLResourcePatternTypeAny():  # noqa: N802 (kafka-python's enum member)
    from kafka.admin import ACLResourcePatternType
    return ACLResourcePatternType.ANY


@pytest.mark.timeout(120)
def test_broker_authenticates_to_a_controller_that_requires_it(cluster, tmp_path):
    """admin_api_require_auth on: the broker follows Watch, registers and
    forwards admin requests as its configured user (controller_credentials)."""
    import base64
    secret = {"admin": "admin-secret", "broker-1": "broker-secret"}
    for name, password in secret.items():
        r = cluster.call("CreateUser", pb.CreateUserRequest(name=name, password=password,
                                                              mechanism="SCRAM-SHA-512"))
        assert r.result.code == pb.OK, r
    r = cluster.call("SetClusterConfig", pb.SetClusterConfigRequest(upsert={
        "enable_sasl": "true", "sasl_mechanisms": "SCRAM,PLAIN", "superusers": "admin,broker-1",
        "admin_api_require_auth": "true"}))
    assert all(x.code == pb.OK for x in r.results.values()), r
    b = Broker(cluster, tmp_path)
    with open(b.dir / "broker.yaml", "a", encoding="utf-8") as f:
        f.write("controller_credentials:\n  username: broker-1\n"
                f"  password: {secret['broker-1']}\n")
    b.start()  # ready: it registered and applied the state through Watch
    try:
        admin = connect(b, "admin", password=secret["admin"], mechanism="SCRAM-SHA-512")
        created = ask(admin, CreateTopicsRequest[3]([("audited", 1, 1, [], [])], 10000, False))
        assert created.topic_errors[0][1] == NONE, created
        auth = "Basic " + base64.b64encode(f"admin:{secret['admin']}".encode()).decode()
        # Any member answers a read (Status, too, needs credentials now).
        topics = next(iter(cluster.members.values())).stub().ListTopics(
            pb.ListTopicsRequest(), timeout=5, metadata=[("authorization", auth)])
        audited = [t for t in topics.topics if t.name == "audited"]
        assert audited and audited[0].created.principal == "User:broker-1", topics
        admin.close()
        assert "secret" not in (b.dir / "broker.log").read_text(errors="replace")
    finally:
        b.stop()
