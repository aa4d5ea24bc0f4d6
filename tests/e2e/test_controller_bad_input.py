"""Malformed and invalid requests: each gets an error naming the field at
fault, nothing changes, and the server keeps serving."""

from __future__ import annotations

import grpc
import pytest

from conftest import Cluster, Member, make_broker, md, pb, register_broker, report, rpc_code

CT = pb.CreateTopicsRequest
METHOD = "/fjord.controller.v1.ControllerService/CreateTopics"


def snapshot_state(m: Member) -> dict:
    """Everything a bad request must leave alone (linearizable reads)."""
    s = m.stub()
    topics = s.ListTopics(pb.ListTopicsRequest(), timeout=5)
    cfg = s.GetClusterConfig(pb.GetClusterConfigRequest(), timeout=5)
    brokers = s.ListBrokers(pb.ListBrokersRequest(), timeout=5)
    st = s.Status(pb.StatusRequest(), timeout=5)
    return {
        "topics_revision": topics.revision,
        "topics": [t.SerializeToString(deterministic=True) for t in topics.topics],
        "config_revision": cfg.revision,
        "config": [e.SerializeToString(deterministic=True) for e in cfg.entries],
        "brokers": sorted((b.broker.id, b.broker.incarnation, b.broker.state)
                          for b in brokers.brokers),
        "members": sorted((x.member.id, x.voter) for x in st.members),
    }


def expect_items(resp_items, expected, what: str) -> None:
    """expected: [(code, field, [substrings of the message])] per item."""
    assert len(resp_items) == len(expected), what
    for i, (item, (code, field, words)) in enumerate(zip(resp_items, expected)):
        r = item.result
        label = f"{what} item {i} ({item.name[:40]!r})"
        print(f"  {label}: {pb.ErrorCode.Name(r.code)} field={r.field!r} message={r.message!r}")
        assert r.code == code, f"{label}: code {pb.ErrorCode.Name(r.code)}, want " \
                               f"{pb.ErrorCode.Name(code)} ({r.message})"
        assert r.field == field, f"{label}: field {r.field!r}, want {field!r} ({r.message})"
        for w in words:
            assert w in r.message, f"{label}: {w!r} not in message {r.message!r}"


def expect_status(fn, code: grpc.StatusCode, words=()) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as ei:
        fn()
    e = ei.value
    print(f"  -> {rpc_code(e).name}: {e.details()[:200]!r}")
    assert rpc_code(e) == code, f"{rpc_code(e).name} ({e.details()}), want {code.name}"
    for w in words:
        assert w in e.details(), f"{w!r} not in {e.details()!r}"
    return e


@pytest.mark.timeout(90)
def test_bad_input(cluster: Cluster):
    register_broker(cluster)  # one active broker
    leader = cluster.wait_for_leader()
    follower = next(m for m in cluster.members.values() if m.id != leader.id)
    ok = cluster.call("CreateTopics", CT(topics=[CT.Item(name="a_b", partitions=1,
                                                         replication_factor=1)]))
    assert ok.topics[0].result.code == pb.OK
    before = snapshot_state(leader)

    # --- CreateTopics: one batch of bad items, via the leader and via a
    # follower (which forwards), and with validate_only.
    bad_topics = [
        (CT.Item(name="", partitions=1, replication_factor=1),
         (pb.INVALID_ARGUMENT, "topics[0].name", ["empty"])),
        (CT.Item(name="x" * 250, partitions=1, replication_factor=1),
         (pb.INVALID_ARGUMENT, "topics[1].name", ["250", "249"])),
        (CT.Item(name=".", partitions=1, replication_factor=1),
         (pb.INVALID_ARGUMENT, "topics[2].name", ['"."'])),
        (CT.Item(name="..", partitions=1, replication_factor=1),
         (pb.INVALID_ARGUMENT, "topics[3].name", ['".."'])),
        (CT.Item(name="bad name/é", partitions=1, replication_factor=1),
         (pb.INVALID_ARGUMENT, "topics[4].name", ["' '", "position 3"])),
        (CT.Item(name="a.b", partitions=1, replication_factor=1),
         (pb.INVALID_ARGUMENT, "topics[5].name", ["collides", "a_b"])),
        (CT.Item(name="a_b", partitions=1, replication_factor=1),
         (pb.TOPIC_ALREADY_EXISTS, "topics[6].name", ["already exists"])),
        (CT.Item(name="p0", partitions=0, replication_factor=1),
         (pb.INVALID_PARTITIONS, "topics[7].partitions", ["0"])),
        (CT.Item(name="pm5", partitions=-5, replication_factor=1),
         (pb.INVALID_PARTITIONS, "topics[8].partitions", ["-5"])),
        (CT.Item(name="rf3", partitions=1, replication_factor=3),
         (pb.INVALID_REPLICATION_FACTOR, "topics[9].replication_factor",
          ["3", "1 active broker"])),
        (CT.Item(name="rf2", partitions=1, replication_factor=2),
         (pb.INVALID_REPLICATION_FACTOR, "topics[10].replication_factor", ["2", "even"])),
        (CT.Item(name="unk", partitions=1, replication_factor=1, configs={"no.such.key": "1"}),
         (pb.INVALID_CONFIG, "topics[11].configs.no.such.key", ["unknown"])),
        (CT.Item(name="typ", partitions=1, replication_factor=1, configs={"retention.ms": "abc"}),
         (pb.INVALID_CONFIG, "topics[12].configs.retention.ms", ['"abc"', "integer"])),
    ]
    req = CT(topics=[i for i, _ in bad_topics])
    expected = [e for _, e in bad_topics]
    for via, validate_only in ((leader, False), (follower, False), (leader, True)):
        req.validate_only = validate_only
        print(f"CreateTopics via member {via.id} (validate_only={validate_only}):")
        expect_items(via.stub().CreateTopics(req, timeout=10).topics, expected,
                     f"CreateTopics via {via.id}")

    print("CreateTopics with no topics:")
    expect_status(lambda: leader.stub().CreateTopics(CT(), timeout=5),
                  grpc.StatusCode.INVALID_ARGUMENT, ["topics"])

    print("DeleteTopics of an unknown topic:")
    r = leader.stub().DeleteTopics(pb.DeleteTopicsRequest(names=["nope"]), timeout=5)
    # The exact field path is test_error_field_paths' business (a known bug).
    assert r.topics[0].result.code == pb.UNKNOWN_TOPIC, r.topics[0].result
    assert r.topics[0].result.field.startswith("names[0]"), r.topics[0].result
    assert "nope" in r.topics[0].result.message

    # --- SetClusterConfig: all or nothing; the key at fault is named.
    print("SetClusterConfig:")
    for upsert, bad_key, words in (
            ({"no_such_key": "1"}, "no_such_key", ["unknown"]),
            ({"default_topic_partitions": "abc"}, "default_topic_partitions", ['"abc"']),
            ({"auto_create_topics_enabled": "yes"}, "auto_create_topics_enabled", ['"yes"']),
            ({"default_topic_partitions": "3", "default_topic_replications": "2"},
             "default_topic_replications", ["even"])):
        r = leader.stub().SetClusterConfig(pb.SetClusterConfigRequest(upsert=upsert), timeout=5)
        for k in upsert:
            res = r.results[k]
            print(f"  {upsert}: {k}: {pb.ErrorCode.Name(res.code)} field={res.field!r} "
                  f"message={res.message!r}")
            assert res.code != pb.OK, f"{k} reported applied in a refused change"
        res = r.results[bad_key]
        assert res.code in (pb.INVALID_CONFIG, pb.INVALID_ARGUMENT), res
        assert res.field == bad_key, res
        for w in words:
            assert w in res.message, res

    # --- Brokers.
    print("RegisterBroker without a broker:")
    expect_status(lambda: leader.stub().RegisterBroker(pb.RegisterBrokerRequest(), timeout=5),
                  grpc.StatusCode.INVALID_ARGUMENT, ["broker"])
    for mutate, field in (
            (lambda b: b.endpoints[0].__setattr__("port", 0), "broker.endpoints[0].port"),
            (lambda b: b.endpoints[0].__setattr__("host", ""), "broker.endpoints[0].host"),
            (lambda b: b.__setattr__("incarnation", ""), "broker.incarnation")):
        b = make_broker(7, incarnation="00000000-0000-4000-8000-000000000007")
        mutate(b)
        r = leader.stub().RegisterBroker(pb.RegisterBrokerRequest(broker=b), timeout=5)
        print(f"  RegisterBroker ({field}): {pb.ErrorCode.Name(r.result.code)} "
              f"field={r.result.field!r} message={r.result.message!r}")
        # The exact field path is test_error_field_paths' business (a known bug).
        assert r.result.code == pb.INVALID_ARGUMENT and r.result.field.endswith(field), r.result

    r = leader.stub().Heartbeat(pb.HeartbeatRequest(broker_id=99, incarnation="x"), timeout=5)
    print(f"Heartbeat for an unknown broker: {r.result}")
    assert r.result.code == pb.UNKNOWN_BROKER and r.result.field == "broker_id", r.result
    assert "99" in r.result.message

    # --- AddMember with bad addresses (rejected before any change).
    print("AddMember:")
    for member, words in (
            (md.Member(id=9, peer_address="nohost", api_address="127.0.0.1:1"),
             ["member.peer_address"]),
            (md.Member(id=9, peer_address="127.0.0.1:1", api_address="127.0.0.1:0"),
             ["member.api_address", "0"]),
            (md.Member(id=9, peer_address="127.0.0.1:70000", api_address="127.0.0.1:1"),
             ["member.peer_address"]),
            (md.Member(id=9, peer_address=":1", api_address="127.0.0.1:1"),
             ["member.peer_address"]),
            (md.Member(id=0, peer_address="127.0.0.1:1", api_address="127.0.0.1:2"),
             ["member.id"])):
        expect_status(lambda: leader.stub().AddMember(pb.AddMemberRequest(member=member),
                                                      timeout=5),
                      grpc.StatusCode.INVALID_ARGUMENT, words)

    # --- Transport-level abuse.
    print("A 20 MB topic name (over the server's 16 MiB message limit):")
    huge = CT(topics=[CT.Item(name="n" * (20 << 20), partitions=1, replication_factor=1)])
    expect_status(lambda: leader.stub().CreateTopics(huge, timeout=20),
                  grpc.StatusCode.RESOURCE_EXHAUSTED)

    raw = leader.channel.unary_unary(METHOD, request_serializer=None,
                                     response_deserializer=None)
    valid = CT(topics=[CT.Item(name="never-created", partitions=1,
                               replication_factor=1)]).SerializeToString()
    for label, payload in (("garbage bytes", b"\xff\xfe\xfd\xfc\x00\x01garbage"),
                           ("a truncated request", valid[: len(valid) - 5])):
        print(f"{label}:")
        # The write methods parse their own requests: bytes that are not a
        # request are INVALID_ARGUMENT naming the expected message.
        with pytest.raises(grpc.RpcError) as ei:
            raw(payload, timeout=5)
        e = ei.value
        report("unparseable_request_status", request=label, code=rpc_code(e).name,
               details=e.details())
        assert rpc_code(e) == grpc.StatusCode.INVALID_ARGUMENT, e
        assert "not a valid fjord.controller.v1.CreateTopicsRequest" in e.details(), e

    # --- Nothing changed, and every member still serves.
    after = snapshot_state(leader)
    assert after == before, "a refused request changed the state"
    assert cluster.wait_for_leader().id == leader.id
    for m in cluster.members.values():
        assert m.running, f"member {m.id} exited"
        r = m.stub().ListTopics(pb.ListTopicsRequest(read=pb.ReadOptions(stale=True)), timeout=5)
        assert [t.name for t in r.topics] == ["a_b"]
    r = cluster.call("CreateTopics", CT(topics=[CT.Item(name="good", partitions=1,
                                                        replication_factor=1)]))
    assert r.topics[0].result.code == pb.OK, r.topics[0].result


@pytest.mark.timeout(60)
def test_error_field_paths(cluster: Cluster):
    """ItemResult.field is "the request field at fault": a path into the request."""
    register_broker(cluster)
    leader = cluster.wait_for_leader()
    b = make_broker(7, incarnation="00000000-0000-4000-8000-000000000007")
    b.endpoints[0].port = 0
    r = leader.stub().RegisterBroker(pb.RegisterBrokerRequest(broker=b), timeout=5)
    d = leader.stub().DeleteTopics(pb.DeleteTopicsRequest(names=["nope"]), timeout=5)
    assert (r.result.field, d.topics[0].result.field) == ("broker.endpoints[0].port", "names[0]")
