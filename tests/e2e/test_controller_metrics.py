"""/metrics and /healthz as an operator's monitoring sees them."""

from __future__ import annotations

import grpc
import pytest

from conftest import Cluster, metric, parse_metrics, pb, register_broker, wait_until


def scrape(m):
    code, text = m.http_get("/metrics")
    assert code == 200, f"member {m.id}: /metrics answered {code}"
    return text, parse_metrics(text)


@pytest.mark.timeout(60)
def test_metrics_and_health(cluster: Cluster):
    leader = cluster.wait_for_leader()
    register_broker(cluster)

    # Raft gauges agree with Status on every member.
    for m in cluster.members.values():
        st = m.status()
        text, s = scrape(m)
        assert "# TYPE fjord_controller_raft_term gauge" in text
        assert metric(s, "fjord_controller_raft_term") == st.term >= 1, m.id
        assert metric(s, "fjord_controller_raft_commit_index") >= st.commit_index >= 1, m.id
        assert metric(s, "fjord_controller_raft_leader_id") == leader.id, m.id
        assert metric(s, "fjord_controller_is_leader") == (1 if m.id == leader.id else 0), m.id

    # requests_total counts calls by method and status code.
    _, s0 = scrape(leader)
    commit0 = metric(s0, "fjord_controller_raft_commit_index")

    def count(s, method, code):
        return metric(s, "fjord_controller_requests_total", method=method, code=code) or 0

    for i in range(3):
        r = leader.stub().CreateTopics(pb.CreateTopicsRequest(topics=[pb.CreateTopicsRequest.Item(
            name=f"m{i}", partitions=1, replication_factor=1)]), timeout=5)
        assert r.topics[0].result.code == pb.OK
    for _ in range(2):
        with pytest.raises(grpc.RpcError) as e:
            leader.stub().CreateTopics(pb.CreateTopicsRequest(), timeout=5)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    leader.stub().ListTopics(pb.ListTopicsRequest(), timeout=5)
    text, s1 = scrape(leader)
    assert "# TYPE fjord_controller_requests_total counter" in text
    assert count(s1, "CreateTopics", "OK") - count(s0, "CreateTopics", "OK") == 3
    assert count(s1, "CreateTopics", "INVALID_ARGUMENT") - \
        count(s0, "CreateTopics", "INVALID_ARGUMENT") == 2
    assert count(s1, "ListTopics", "OK") - count(s0, "ListTopics", "OK") == 1
    assert metric(s1, "fjord_controller_raft_commit_index") >= commit0 + 3

    # /healthz: 200 while a leader is known; 503 once the member is alone.
    for m in cluster.members.values():
        assert m.http_get("/healthz") == (200, "ok\n"), m.id
    survivor = next(m for m in cluster.members.values() if m.id != leader.id)
    for m in list(cluster.members.values()):
        if m is not survivor:
            m.kill()
    wait_until(lambda: survivor.http_get("/healthz")[0] == 503, 10,
               f"member {survivor.id}'s /healthz to report no leader")
    code, body = survivor.http_get("/healthz")
    assert "no leader" in body
    _, s2 = scrape(survivor)
    assert metric(s2, "fjord_controller_raft_leader_id") == 0
