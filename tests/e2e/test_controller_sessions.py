"""Client sessions: a write retried with the same (client_id, seq) is answered
with its first outcome and applied at most once, wherever the retry lands and
across restarts (controller_service.proto, Session)."""

from __future__ import annotations

import grpc

import pytest

from conftest import Cluster, pb, register_broker, rpc_code


def session(client: str, seq: int, first_outstanding: int = 0, retry: bool = False) -> pb.Session:
    return pb.Session(client_id=client, seq=seq, first_outstanding=first_outstanding, retry=retry)


def create(name: str, ses: pb.Session | None = None) -> pb.CreateTopicsRequest:
    req = pb.CreateTopicsRequest(topics=[pb.CreateTopicsRequest.Item(
        name=name, partitions=1, replication_factor=1)])
    if ses is not None:
        req.session.CopyFrom(ses)
    return req


def delete(name: str, ses: pb.Session | None = None) -> pb.DeleteTopicsRequest:
    req = pb.DeleteTopicsRequest(names=[name])
    if ses is not None:
        req.session.CopyFrom(ses)
    return req


def code(resp) -> str:
    return pb.ErrorCode.Name(resp.topics[0].result.code)


@pytest.fixture
def cluster(cluster):  # noqa: F811 - the suite's cluster, with a broker to place replicas on
    register_broker(cluster)
    return cluster


def exists(cluster: Cluster, name: str) -> bool:
    leader = cluster.wait_for_leader()
    resp = leader.stub().ListTopics(pb.ListTopicsRequest(names=[name]), timeout=5)
    return len(resp.topics) == 1


def test_a_retried_create_is_answered_with_its_first_outcome(cluster: Cluster):
    leader = cluster.wait_for_leader()
    follower = next(m for m in cluster.running() if m.id != leader.id)
    first = leader.stub().CreateTopics(create("orders", session("cli-1", 1)), timeout=10)
    assert code(first) == "OK"
    revision = first.revision
    # The retry, through a follower that forwards it: not TOPIC_ALREADY_EXISTS.
    again = follower.stub().CreateTopics(create("orders", session("cli-1", 1)), timeout=10)
    assert code(again) == "OK", again
    assert again.topics[0].topic.uuid == first.topics[0].topic.uuid
    listed = leader.stub().ListTopics(pb.ListTopicsRequest(), timeout=5)
    assert [t.name for t in listed.topics] == ["orders"]
    assert listed.revision == revision, "the retry changed something"
    # A new request (next seq) is a new create: the topic exists now.
    other = leader.stub().CreateTopics(create("orders", session("cli-1", 2)), timeout=10)
    assert code(other) == "TOPIC_ALREADY_EXISTS"
    # Without a session, nothing is remembered (the old behaviour).
    plain = leader.stub().CreateTopics(create("orders"), timeout=10)
    assert code(plain) == "TOPIC_ALREADY_EXISTS"


def test_a_retried_delete_never_removes_a_recreated_topic(cluster: Cluster):
    leader = cluster.wait_for_leader()
    s = leader.stub()
    assert code(s.CreateTopics(create("t", session("a", 1)), timeout=10)) == "OK"
    assert code(s.DeleteTopics(delete("t", session("a", 2)), timeout=10)) == "OK"
    # Someone else recreates it; then client a's delete is retried.
    assert code(s.CreateTopics(create("t", session("b", 1)), timeout=10)) == "OK"
    retried = s.DeleteTopics(delete("t", session("a", 2)), timeout=10)
    assert code(retried) == "OK"
    assert exists(cluster, "t"), "a retried delete removed another client's topic"


def test_a_refused_retry_stops_its_earlier_attempt_from_applying(cluster: Cluster):
    """A client's delete times out (its first attempt is still in flight),
    the retry is refused (UNKNOWN_TOPIC) and the client is told so; then
    someone creates the topic and the first attempt finally arrives. It must
    be answered with the refusal the client was given, not delete the new
    topic behind the client's back (found by test_faults_linearizable[cli])."""
    leader = cluster.wait_for_leader()
    follower = next(m for m in cluster.running() if m.id != leader.id)
    s = leader.stub()
    refused = follower.stub().DeleteTopics(delete("late", session("d", 1, retry=True)),
                                           timeout=10)
    assert code(refused) == "UNKNOWN_TOPIC", refused
    assert code(s.CreateTopics(create("late", session("e", 1)), timeout=10)) == "OK"
    late = s.DeleteTopics(delete("late", session("d", 1)), timeout=10)
    assert code(late) == "UNKNOWN_TOPIC", late
    assert exists(cluster, "late"), "an attempt applied after its retry was refused"
    # A first attempt's refusal is answered at once and remembers nothing:
    # there is no earlier attempt to overtake it.
    assert code(s.DeleteTopics(delete("other", session("f", 1)), timeout=10)) == "UNKNOWN_TOPIC"
    assert code(s.CreateTopics(create("other", session("g", 1)), timeout=10)) == "OK"
    assert code(s.DeleteTopics(delete("other", session("f", 1)), timeout=10)) == "OK"


def test_a_refused_retried_config_change_answers_like_a_first_attempt(cluster: Cluster):
    """The refusal decided in the log reads the same, key by key, as one
    answered at once."""
    leader = cluster.wait_for_leader()

    def refused(ses: pb.Session) -> dict:
        r = leader.stub().SetClusterConfig(pb.SetClusterConfigRequest(
            upsert={"no_such_key": "1", "default_topic_partitions": "x"}, session=ses), timeout=10)
        return {k: (pb.ErrorCode.Name(v.code), v.message) for k, v in r.results.items()}

    first = refused(session("h", 1))
    assert set(first) == {"no_such_key", "default_topic_partitions"}
    assert all(c != "OK" for c, _ in first.values()), first
    assert refused(session("i", 1, retry=True)) == first
    # Again, answered from the session: the key at fault as before (the
    # others' own checks are not remembered).
    again = refused(session("i", 1, retry=True))
    at_fault = [k for k, (_, message) in again.items() if not message.startswith("not applied")]
    assert len(at_fault) == 1 and again[at_fault[0]] == first[at_fault[0]], again


def test_sessions_survive_a_restart_of_every_member(cluster: Cluster):
    leader = cluster.wait_for_leader()
    assert code(leader.stub().CreateTopics(create("kept", session("c", 1)),
                                           timeout=10)) == "OK"
    for m in list(cluster.running()):
        m.kill()
    for m in cluster.members.values():
        m.start()
    leader = cluster.wait_for_leader(timeout=20)
    again = leader.stub().CreateTopics(create("kept", session("c", 1)), timeout=10)
    assert code(again) == "OK", again


def test_a_malformed_session_is_refused_naming_the_field(cluster: Cluster):
    leader = cluster.wait_for_leader()
    for ses, field in [(session("c", 0), "session.seq"),
                       (session("x" * 65, 1), "session.client_id"),
                       (session("c", 2, 3), "session.first_outstanding")]:
        try:
            leader.stub().CreateTopics(create("never", ses), timeout=10)
        except grpc.RpcError as e:
            assert rpc_code(e) == grpc.StatusCode.INVALID_ARGUMENT
            assert field in e.details(), e.details()
        else:
            raise AssertionError(f"{field}: accepted")
    assert not exists(cluster, "never")
