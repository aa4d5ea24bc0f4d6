"""Membership changes survive crashes.

The group's membership lives in the Raft log (and snapshots): after any
crash, a restarted member must know the latest configuration it had
persisted, so that the members of the current configuration can elect a
leader without the ones removed from it. Both tests change membership with
the CLI (`fjord controller members add|remove`), as an operator does, and
crash with SIGKILL, all of the group at once (a power cut)."""

from __future__ import annotations

import json
import random
import threading
import time

import pytest

from conftest import Cluster, Member, pb, register_broker, report, topic_names, wait_until
from faults import CliRun, Faults, describe_cluster, fault_seed, run_fjord

# "Within a few seconds" of the restarted members listening: two election
# timeouts for the first campaign, plus restart and log replay on a busy
# 2-core machine, with room for one split vote.
LEADER_AFTER_RESTART_S = 5.0


def views(members: list[Member]) -> dict[int, tuple]:
    """Each member's own view: (leader_id, voters, learners)."""
    out = {}
    for m in members:
        s = m.status(timeout=2.0)
        out[m.id] = (s.leader_id, frozenset(x.member.id for x in s.members if x.voter),
                     frozenset(x.member.id for x in s.members if not x.voter))
    return out


def wait_config(cluster: Cluster, members: list[Member], voters: set[int],
                timeout: float = 15) -> None:
    """Waits until each of `members` sees exactly `voters` and no learner."""

    def check():
        v = views(members)
        return all(vs == voters and not ls for _, vs, ls in v.values())

    try:
        wait_until(check, timeout, f"members {[m.id for m in members]} to see voters "
                                   f"{sorted(voters)}")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{describe_cluster(cluster)}") from None


def cli_status_voters(m: Member) -> set[int]:
    """`fjord controller status` pointed at one member: the voters it reports."""
    r = run_fjord([m.api], "controller", "status", "--format", "json", timeout=30)
    assert r.rc == 0, f"fjord controller status via {m.id}: {r.stderr}"
    return {x["id"] for x in json.loads(r.stdout)["members"] if x["voter"]}


def add_member(cluster: Cluster, j: Member) -> CliRun:
    return run_fjord([m.api for m in cluster.running()], "controller", "members", "add",
                     str(j.id), "--peer", j.peer, "--api", j.api, timeout=60,
                     command_timeout="30s", retry_timeout="30s")


def remove_member(cluster: Cluster, i: int) -> CliRun:
    return run_fjord([m.api for m in cluster.running()], "controller", "members", "remove",
                     str(i), timeout=60, command_timeout="30s", retry_timeout="30s")


def create_topic(cluster: Cluster, name: str) -> None:
    r = run_fjord([m.api for m in cluster.running()], "topic", "create", name, "-p", "1",
                  "-r", "1", timeout=60)
    assert r.rc == 0, f"fjord topic create {name}: rc={r.rc} {r.stdout} {r.stderr}\n" \
                      f"{describe_cluster(cluster)}"


def wait_group_leader(members: list[Member], timeout: float) -> Member:
    """Waits until one of `members` leads and every running member of its
    configuration names it. (Members outside the configuration, such as a
    joiner not yet added, have no say.)"""
    by_id = {m.id: m for m in members}

    def check():
        sts = {}
        for m in members:
            if m.running:
                try:
                    sts[m.id] = m.status(timeout=0.5)
                except Exception:  # noqa: BLE001
                    pass
        for i, s in sts.items():
            if s.role != "leader" or s.leader_id != i:
                continue
            config = {x.member.id for x in s.members}
            if all(j in sts and sts[j].leader_id == i
                   for j in config if j in by_id and by_id[j].running):
                return by_id[i]
        return None

    return wait_until(check, timeout, "a leader its whole configuration agrees on")


def leader_after_restart(cluster: Cluster, members: list[Member], what: str) -> tuple:
    """Waits for a leader among `members`; returns (leader, seconds)."""
    t0 = time.monotonic()
    try:
        leader = wait_group_leader(members, LEADER_AFTER_RESTART_S)
    except AssertionError:
        # Keep watching a little, to tell "slow" from "never".
        try:
            wait_group_leader(members, 10)
            late = f"one came after {time.monotonic() - t0:.1f}s"
        except AssertionError:
            late = "none within a further 10s either"
        raise AssertionError(
            f"{what}: no leader within {LEADER_AFTER_RESTART_S}s of restarting members "
            f"{[m.id for m in members]} ({late}); each member's view:\n"
            f"{describe_cluster(cluster)}") from None
    return leader, time.monotonic() - t0


@pytest.mark.timeout(120)
def test_membership_survives_crash_of_every_remaining_member(cluster: Cluster):
    """Founders 1-3; add 4 and 5; remove the two founders that are not the
    leader; right after the second removal returns, SIGKILL the remaining
    three (leader, 4, 5) at once; restart them: a leader within a few
    seconds, the same three voters everywhere, and writes work."""
    faults = Faults(cluster)
    register_broker(cluster)
    create_topic(cluster, "before-growth")
    joiners = cluster.add([4, 5], founders=False)
    cluster.start(4, 5)
    for j in joiners:
        r = add_member(cluster, j)
        assert r.rc == 0, f"members add {j.id}: {r.stdout} {r.stderr}"
    wait_config(cluster, list(cluster.members.values()), {1, 2, 3, 4, 5})

    leader = cluster.wait_for_leader()
    removed = [i for i in (1, 2, 3) if i != leader.id]
    for i in removed:
        r = remove_member(cluster, i)
        assert r.rc == 0, f"members remove {i}: {r.stdout} {r.stderr}"
    remaining = [cluster.members[i] for i in (leader.id, 4, 5)]
    wait_config(cluster, remaining, {leader.id, 4, 5})
    # Right after the second removal returns: the removed founders are gone
    # for good, and the three remaining members are SIGKILLed at once.
    for i in removed:
        cluster.members[i].kill()
    faults.crash(*remaining)
    faults.restart(*remaining)
    new, took = leader_after_restart(cluster, remaining, "after SIGKILL of every member")
    report("membership_crash_leader_seconds", value=round(took, 3),
           bound=LEADER_AFTER_RESTART_S, voters=sorted([leader.id, 4, 5]))
    wait_config(cluster, remaining, {leader.id, 4, 5})
    for m in remaining:
        assert cli_status_voters(m) == {leader.id, 4, 5}, f"fjord controller status via {m.id}"
    create_topic(cluster, "after-crash")
    names = topic_names(cluster.call("ListTopics", pb.ListTopicsRequest()))
    assert {"before-growth", "after-crash"} <= names, names


class Plan:
    """The membership changes of the scenario, made idempotent: each step
    looks at the group's configuration and does what is still missing, as
    an operator re-running a playbook after a crash would."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster

    def config(self) -> tuple[set[int], set[int]]:
        leader = wait_group_leader(self.cluster.running(), 15)
        s = leader.status()
        return ({x.member.id for x in s.members if x.voter},
                {x.member.id for x in s.members if not x.voter})

    def ensure_voter(self, j: Member) -> None:
        voters, learners = self.config()
        if j.id in voters:
            return
        if j.id in learners:  # added, not promoted before the crash: start over
            r = remove_member(self.cluster, j.id)
            assert r.rc == 0 or j.id not in self.config()[1], f"remove learner {j.id}: {r.stderr}"
        if not j.running:
            j.start()
        r = add_member(self.cluster, j)
        voters, _ = self.config()
        assert j.id in voters, f"members add {j.id}: rc={r.rc} {r.stdout} {r.stderr}\n" \
                               f"{describe_cluster(self.cluster)}"

    def ensure_removed(self, i: int) -> None:
        voters, learners = self.config()
        if i in voters | learners:
            r = remove_member(self.cluster, i)
            voters, learners = self.config()
            assert i not in voters | learners, f"members remove {i}: rc={r.rc} {r.stderr}"

    def founder_to_remove(self) -> int:
        """A founder still in the group that is not the leader."""
        leader = wait_group_leader(self.cluster.running(), 15)
        voters, _ = self.config()
        return next(i for i in (1, 2, 3) if i in voters and i != leader.id)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("instant", ["in-flight", "after-return"])
def test_membership_changes_with_crashes_at_every_step(cluster: Cluster, instant: str):
    """The same changes (add 4, add 5, remove two founders that are not the
    leader), with the whole group SIGKILLed at once and restarted at every
    step: `in-flight`, while the CLI command runs (once the leader lists the
    joiner, or 5-60 ms into a removal); `after-return`, right after it
    returns (a removed founder is stopped first, as an operator would). After
    every restart: a leader within a few seconds, every member of the
    configuration reports the same voters (its own Status, and `fjord
    controller status` pointed at it), and a topic can be created. Then the
    plan goes on from wherever the crash left it."""
    seed = fault_seed()
    rng = random.Random(seed)
    print(f"\n{instant}: seed {seed} (FJORD_FAULT_SEED to replay)")
    faults = Faults(cluster)
    register_broker(cluster)
    plan = Plan(cluster)
    joiners = cluster.add([4, 5], founders=False)
    cluster.start(4, 5)
    crash_no = [0]
    timings = []
    found = []  # what each crash left behind

    def crash_and_check(when: str) -> None:
        crash_no[0] += 1
        group = cluster.running()
        faults.crash(*group)
        faults.restart(*group)
        leader, took = leader_after_restart(cluster, group, f"crash {crash_no[0]} ({when})")
        timings.append(round(took, 3))
        voters, learners = plan.config()
        found.append(f"{when}: voters {sorted(voters)} learners {sorted(learners)}")
        in_config = [m for m in group if m.id in voters | learners]
        # Every member of the configuration agrees on it, by its own Status...
        wait_until(lambda: all(vs == voters for _, vs, _ in views(in_config).values()), 10,
                   f"after crash {crash_no[0]} ({when}): members {[m.id for m in in_config]} to "
                   f"agree on voters {sorted(voters)}")
        # ...and by `fjord controller status` pointed at it.
        for m in in_config:
            assert cli_status_voters(m) == voters, \
                f"after crash {crash_no[0]} ({when}): fjord controller status via {m.id}"
        create_topic(cluster, f"after-crash-{crash_no[0]}")

    def in_flight(start_cli, watch, max_delay: float, when: str) -> None:
        """Starts a CLI change in the background and crashes the group while
        it runs: as soon as `watch()` sees the change half done, or after a
        random delay up to `max_delay`."""
        th = threading.Thread(target=start_cli, daemon=True)
        th.start()
        deadline = time.monotonic() + rng.uniform(0.005, max_delay)
        while time.monotonic() < deadline and th.is_alive():
            if watch is not None and watch():
                break
            time.sleep(0.002)
        crash_and_check(when)
        th.join(timeout=90)

    def listed_by_leader(j: Member):
        def check():
            try:
                lead = cluster.leader()
                return lead is not None and any(
                    x.member.id == j.id for x in lead.status(timeout=0.5).members)
            except Exception:  # noqa: BLE001
                return False
        return check

    for j in joiners:
        if instant == "in-flight":
            in_flight(lambda j=j: add_member(cluster, j), listed_by_leader(j), 0.5,
                      f"adding {j.id}")
            plan.ensure_voter(j)
        else:
            plan.ensure_voter(j)
            crash_and_check(f"added {j.id}")
    for _ in range(2):
        victim = plan.founder_to_remove()
        if instant == "in-flight":
            in_flight(lambda v=victim: remove_member(cluster, v), None, 0.06,
                      f"removing {victim}")
            plan.ensure_removed(victim)
            cluster.members[victim].kill()  # removed: the operator stops it
        else:
            plan.ensure_removed(victim)
            cluster.members[victim].kill()
            crash_and_check(f"removed {victim}")

    voters, _ = plan.config()
    assert len(voters) == 3 and {4, 5} <= voters, voters
    wait_config(cluster, [cluster.members[i] for i in voters], voters)
    names = topic_names(cluster.call("ListTopics", pb.ListTopicsRequest()))
    expected = {f"after-crash-{k}" for k in range(1, crash_no[0] + 1)}
    assert expected <= names, f"lost: {sorted(expected - names)}"
    report("membership_crash_steps", instant=instant, crashes=crash_no[0],
           leader_seconds=timings, seed=seed, final_voters=sorted(voters), found=found)
