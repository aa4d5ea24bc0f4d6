"""Growing and shrinking the controller group through the API."""

from __future__ import annotations

import pytest

import grpc

from conftest import (Cluster, Member, parse_metrics, pb, register_broker, topic_names,
                      wait_until)


def voters_seen_by(m: Member) -> set[int]:
    return {ms.member.id for ms in m.status().members if ms.voter}


def learners_seen_by(m: Member) -> set[int]:
    return {ms.member.id for ms in m.status().members if not ms.voter}


def wait_voters(cluster: Cluster, members: list[Member], expected: set[int], timeout: float = 15):
    def check():
        views = {m.id: (voters_seen_by(m), learners_seen_by(m)) for m in members}
        return all(v == expected and not lrn for v, lrn in views.values()) and views

    try:
        return wait_until(check, timeout, f"members {[m.id for m in members]} to agree on "
                                           f"voters {sorted(expected)}")
    except AssertionError:
        for m in members:
            try:
                print(f"member {m.id} sees voters {sorted(voters_seen_by(m))}, "
                      f"learners {sorted(learners_seen_by(m))}")
            except Exception as e:  # noqa: BLE001
                print(f"member {m.id}: {e}")
        raise


def create_ok(cluster: Cluster, name: str, via: Member | None = None) -> pb.CreateTopicsResponse:
    r = cluster.call("CreateTopics", pb.CreateTopicsRequest(topics=[pb.CreateTopicsRequest.Item(
        name=name, partitions=1, replication_factor=1)]), prefer=via)
    assert r.topics[0].result.code == pb.OK, r.topics[0].result
    return r


def wait_topic_everywhere(members: list[Member], name: str, timeout: float = 15):
    wait_until(lambda: all(name in topic_names(m.stub().ListTopics(
        pb.ListTopicsRequest(read=pb.ReadOptions(stale=True)), timeout=2)) for m in members),
        timeout, f"topic {name} on members {[m.id for m in members]}")


def dropped(m: Member):
    code, text = m.http_get("/metrics")
    samples = parse_metrics(text)
    return next((v for (n, _), v in samples.items() if "messages_dropped" in n), None)


def add_member(cluster: Cluster, j: Member, within: float = 10.0) -> None:
    """AddMember (learner, then promoted once caught up). Catching up a
    handful of entries on loopback takes milliseconds; `within` is generous."""
    try:
        r = cluster.call("AddMember", pb.AddMemberRequest(member=j.member_proto()),
                                  timeout=within, per_call=within, prefer=cluster.leader())
    except grpc.RpcError as e:
        st = j.status()
        raise AssertionError(
            f"AddMember {j.id} did not finish within {within}s ({e.code().name}: {e.details()}); "
            f"the joiner reports commit_index={st.commit_index} leader_id={st.leader_id} "
            f"role={st.role}, raft messages dropped by its transport: "
            f"{dropped(j)}") from None
    assert r.result.code == pb.OK, f"AddMember {j.id}: {r.result}"


@pytest.mark.timeout(120)
def test_membership(cluster: Cluster):
    """The brief's scenario: 3 founders, add 4 and 5 (started with empty
    initial_members), remove a follower, transfer, remove the leader itself."""
    register_broker(cluster)
    create_ok(cluster, "before-growth")

    # Two new members, started with no initial members: they wait to be added.
    joiners = cluster.add([4, 5], founders=False)
    cluster.start(4, 5)
    for j in joiners:
        add_member(cluster, j)

    everyone = list(cluster.members.values())
    wait_voters(cluster, everyone, {1, 2, 3, 4, 5})
    # The new members hold the data written before they joined, and writes work.
    wait_topic_everywhere(joiners, "before-growth")
    create_ok(cluster, "after-growth", via=cluster.members[5])
    wait_topic_everywhere(everyone, "after-growth")
    shrink_and_transfer(cluster, everyone, transfer_to=(4, 5))


@pytest.mark.timeout(90)
def test_membership_remove_and_transfer(cluster_factory):
    """What test_membership checks after growth, on five founding members
    (so that it runs while adding members is broken)."""
    cluster = cluster_factory(5)
    cluster.start()
    cluster.wait_for_leader(timeout=15)
    everyone = list(cluster.members.values())
    wait_voters(cluster, everyone, {1, 2, 3, 4, 5})
    register_broker(cluster)
    create_ok(cluster, "before-shrink", via=cluster.members[5])
    wait_topic_everywhere(everyone, "before-shrink")
    shrink_and_transfer(cluster, everyone, transfer_to=(4, 5))


def shrink_and_transfer(cluster: Cluster, everyone: list[Member], transfer_to) -> None:
    # Remove a follower; it is then stopped, as an operator would.
    leader = cluster.wait_for_leader()
    victim = next(m for m in (cluster.members[i] for i in (1, 2, 3)) if m.id != leader.id)
    r = cluster.call("RemoveMember", pb.RemoveMemberRequest(id=victim.id), timeout=20)
    assert r.result.code == pb.OK, f"RemoveMember {victim.id}: {r.result}"
    remaining = [m for m in everyone if m.id != victim.id]
    wait_voters(cluster, remaining, {m.id for m in remaining})
    assert victim.terminate() == 0

    # Transfer leadership to a specific member that is not the leader.
    leader = cluster.wait_for_leader(among=[m.id for m in remaining])
    target = next(m for m in (cluster.members[i] for i in transfer_to) if m.id != leader.id)
    r = cluster.call("TransferLeadership", pb.TransferLeadershipRequest(to=target.id), timeout=20)
    assert r.result.code == pb.OK, f"TransferLeadership to {target.id}: {r.result}"
    assert r.leader_id == target.id
    assert cluster.wait_for_leader(among=[m.id for m in remaining]).id == target.id

    # Remove the leader itself: the others elect a new leader and writes work.
    r = cluster.call("RemoveMember", pb.RemoveMemberRequest(id=target.id), timeout=20)
    assert r.result.code == pb.OK, f"RemoveMember {target.id} (the leader): {r.result}"
    survivors = [m for m in remaining if m.id != target.id]
    new = cluster.wait_for_leader(among=[m.id for m in survivors], exclude=[target.id],
                                  timeout=15)
    assert new.id in {m.id for m in survivors}
    wait_voters(cluster, survivors, {m.id for m in survivors})
    assert target.terminate() == 0
    create_ok(cluster, "after-shrink")
    wait_topic_everywhere(survivors, "after-shrink")
    names = topic_names(cluster.call("ListTopics", pb.ListTopicsRequest()))
    assert "after-shrink" in names
