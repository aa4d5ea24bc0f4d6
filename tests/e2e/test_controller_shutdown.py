"""SIGTERM on the leader hands leadership away (TimeoutNow) before exiting."""

from __future__ import annotations

import time

import pytest

from conftest import (ELECTION_TIMEOUT_S, Cluster, Member, pb, register_broker, report,
                      wait_until)

# "Well under an election timeout": a transfer is one TimeoutNow message and
# one vote round, milliseconds on loopback.
HANDOFF_BOUND_S = ELECTION_TIMEOUT_S / 2
# SIGTERM to exit: the handoff, then the API and peer servers' shutdown.
EXIT_BOUND_S = 3.0


def caught_up(cluster: Cluster, members: list[Member]) -> bool:
    sts = cluster.statuses(members)
    return len(sts) == len(members) and len({s.applied_index for s in sts.values()}) == 1


def sigterm_leader_and_time(cluster: Cluster, leader: Member, others: list[Member]):
    """SIGTERMs `leader`; returns (seconds until another member reports that it
    leads, the new leader, seconds until the old one exited, its exit status)."""
    old_term = leader.status().term
    leader.close_channel()  # see Member.terminate
    t0 = time.monotonic()
    leader.signal(__import__("signal").SIGTERM)

    def new_leader():
        for m in others:
            try:
                st = m.status(timeout=0.2)
            except Exception:  # noqa: BLE001
                continue
            if st.role == "leader" and st.leader_id == m.id and st.term > old_term:
                return m
        return None

    new = wait_until(new_leader, 10, "a new leader after SIGTERM", interval=0.002)
    handoff = time.monotonic() - t0
    leader.proc.wait(timeout=15)
    exited = time.monotonic() - t0
    return handoff, new, exited, leader.proc.returncode


@pytest.mark.timeout(60)
def test_graceful_shutdown_hands_off_leadership(cluster: Cluster):
    register_broker(cluster)
    leader = cluster.wait_for_leader()
    r = cluster.call("CreateTopics", pb.CreateTopicsRequest(topics=[pb.CreateTopicsRequest.Item(
        name="before", partitions=1, replication_factor=1)]))
    assert r.topics[0].result.code == pb.OK
    members = list(cluster.members.values())
    wait_until(lambda: caught_up(cluster, members), 10, "followers to catch up")
    others = [m for m in members if m.id != leader.id]

    handoff, new, exited, rc = sigterm_leader_and_time(cluster, leader, others)
    report("graceful_handoff_seconds", value=round(handoff, 3), bound=HANDOFF_BOUND_S,
           exit_seconds=round(exited, 3), exit_bound=EXIT_BOUND_S, old_leader=leader.id,
           new_leader=new.id)
    assert rc == 0, f"leader {leader.id} exited {rc} on SIGTERM"
    assert handoff < HANDOFF_BOUND_S, (
        f"new leader after {handoff:.3f}s; want < {HANDOFF_BOUND_S}s (half an election timeout)")
    assert exited < EXIT_BOUND_S, f"exit took {exited:.3f}s after SIGTERM"
    assert "leadership handed to" in leader.log_path.read_text()

    # The group goes on; the old leader rejoins as a follower.
    r = cluster.call("CreateTopics", pb.CreateTopicsRequest(topics=[pb.CreateTopicsRequest.Item(
        name="after", partitions=1, replication_factor=1)]))
    assert r.topics[0].result.code == pb.OK
    leader.start()
    cluster.wait_for_leader()
    wait_until(lambda: {"before", "after"} <= {t.name for t in leader.stub().ListTopics(
        pb.ListTopicsRequest(read=pb.ReadOptions(stale=True))).topics}, 15,
        "the restarted member to catch up")


@pytest.mark.timeout(60)
def test_graceful_shutdown_with_a_follower_down(cluster_factory):
    cluster = cluster_factory(5)
    cluster.start()
    leader = cluster.wait_for_leader(timeout=15)
    register_broker(cluster)
    members = list(cluster.members.values())
    wait_until(lambda: caught_up(cluster, members), 10, "followers to catch up")
    # The lowest-id follower crashes (its match index ties with the others').
    down = cluster.members[min(m.id for m in members if m.id != leader.id)]
    down.kill()
    others = [m for m in members if m.id not in (leader.id, down.id)]

    handoff, new, exited, rc = sigterm_leader_and_time(cluster, leader, others)
    report("graceful_handoff_with_follower_down_seconds", value=round(handoff, 3),
           bound=HANDOFF_BOUND_S, exit_seconds=round(exited, 3), old_leader=leader.id,
           down=down.id, new_leader=new.id)
    assert rc == 0
    assert handoff < HANDOFF_BOUND_S, (
        f"new leader after {handoff:.3f}s with follower {down.id} down; want < "
        f"{HANDOFF_BOUND_S}s. Old leader's log:\n{leader.log_tail(6)}")
