"""Bug 2's stale-member variant, with real processes: a broker whose only
reachable controller is a member cut off from the others (so its state is
behind) must neither serve nor touch its data on that member's word. Before
the fix, Watch served the member's local state without a ReadIndex, and the
broker removed the data of every topic created since the member fell
behind."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from conftest import pb, wait_until
from faults import Faults, NetBroker, namespaces_unavailable
from faults import net_cluster_factory, network  # noqa: F401  (fixtures)


def create(cluster, name: str, prefer=None) -> str:
    r = cluster.call("CreateTopics", pb.CreateTopicsRequest(topics=[pb.CreateTopicsRequest.Item(
        name=name, partitions=1, replication_factor=1)]), prefer=prefer)
    assert r.topics[0].result.code == pb.OK, r
    return r.topics[0].topic.uuid


def files_under(d: Path) -> dict[str, int]:
    return {str(p.relative_to(d)): p.stat().st_size for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.mark.timeout(120)
def test_a_broker_refuses_a_controller_member_that_is_behind(net_cluster_factory):  # noqa: F811
    why = namespaces_unavailable()
    if why:
        pytest.skip(f"fault harness: {why}")
    cluster = net_cluster_factory(3)
    cluster.start()
    faults = Faults(cluster)
    leader = cluster.wait_for_leader(timeout=15)
    stale = next(m for m in cluster.members.values() if m.id != leader.id)
    others = [m for m in cluster.members.values() if m.id != stale.id]

    broker = NetBroker(cluster, cluster.root)
    broker.start()
    wait_until(lambda: cluster.call("ListBrokers", pb.ListBrokersRequest()).brokers, 10,
               "the broker registered")
    create(cluster, "old")

    # The member falls behind: cut off from the other controllers (not from
    # the broker), while the majority deletes a topic and creates one.
    faults.isolate(stale, from_=others)
    majority = cluster.wait_for_leader(timeout=15, among=[m.id for m in others])
    cluster.call("DeleteTopics", pb.DeleteTopicsRequest(names=["old"]), prefer=majority)
    new_uuid = create(cluster, "new", prefer=majority)
    new_dir = broker.dir / "data" / "topics" / new_uuid
    wait_until(new_dir.is_dir, 15, "the broker to create the new topic's directory")
    time.sleep(1.5)  # let the broker record what it applied
    before = files_under(new_dir)
    assert before, "the new topic's directory holds its log"

    # The broker restarts knowing only the stale member.
    broker.kill()
    config = broker.dir / "broker.yaml"
    config.write_text(re.sub(r"controllers: \[.*\]", f"controllers: [{stale.api}]",
                             config.read_text()))
    broker.start(wait=False)
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        assert not broker.healthy(), "the broker became ready on a stale member's word"
        time.sleep(0.2)
    assert new_dir.is_dir() and files_under(new_dir) == before, \
        "the broker touched the data of a topic the stale member does not know"
    assert not (broker.dir / "data" / "trash").exists() or \
        not any(p.name.startswith(new_uuid) for p in (broker.dir / "data" / "trash").iterdir())
    log = broker.log()
    assert re.search(r"cannot confirm that its state is current|not the leader|is behind", log), \
        log

    # Healed, the member catches up and the broker follows it: the new topic
    # is served from the same data, the deleted one is gone.
    faults.heal_all()
    wait_until(broker.healthy, 30, "the broker ready once the member caught up")
    assert files_under(new_dir) == before
