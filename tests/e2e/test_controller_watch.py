"""Watch: a watcher that follows the group through a leader crash, by
reconnecting with the last revision it applied, sees every change once."""

from __future__ import annotations

import threading
import time
from typing import Optional

import grpc
import pytest

from conftest import Cluster, Member, md, pb, pb_grpc, register_broker, wait_until


class Watcher:
    """Follows Watch, reconnecting to another member (from_revision = last
    applied revision) whenever the stream breaks; rebuilds the state."""

    def __init__(self, cluster: Cluster, first: Member):
        self.cluster = cluster
        self.first = first
        self.stop = threading.Event()
        self.mu = threading.Lock()
        self.last = 0
        self.topics: dict[str, md.Topic] = {}
        self.config: dict[str, md.ConfigValue] = {}
        self.snapshots: list[int] = []          # revisions of snapshot events
        self.deltas: list[md.Delta] = []        # every delta, in arrival order
        self.connections: list[tuple[int, int]] = []  # (member id, from_revision)
        self.breaks: list[str] = []
        self.order_errors: list[str] = []
        self.call = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        with self.mu:
            if self.call is not None:
                self.call.cancel()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "watcher thread hung"

    def revision(self) -> int:
        with self.mu:
            return self.last

    def _apply(self, ev: pb.WatchEvent) -> None:
        with self.mu:
            if ev.HasField("snapshot"):
                s = ev.snapshot
                if s.revision < self.last:
                    self.order_errors.append(f"snapshot at {s.revision} after revision {self.last}")
                self.snapshots.append(s.revision)
                self.topics = {t.name: t for t in s.topics}
                self.config = {c.key: c for c in s.cluster_config}
                self.last = s.revision
                return
            d = ev.delta
            if d.revision <= self.last:
                self.order_errors.append(f"delta at {d.revision} after revision {self.last}")
            self.deltas.append(d)
            self.last = d.revision
            kind = d.WhichOneof("change")
            if kind == "topic_upserted":
                self.topics[d.topic_upserted.name] = d.topic_upserted
            elif kind == "topic_deleted":
                self.topics.pop(d.topic_deleted, None)
            elif kind == "config_set":
                self.config[d.config_set.key] = d.config_set
            elif kind == "config_removed":
                self.config.pop(d.config_removed, None)

    def _run(self) -> None:
        target: Optional[Member] = self.first
        rr = 0
        while not self.stop.is_set():
            if target is None or not target.running:
                cands = self.cluster.running()
                if not cands:
                    time.sleep(0.05)
                    continue
                target = cands[rr % len(cands)]
                rr += 1
            # A channel of the watcher's own (the main thread kills members).
            ch = grpc.insecure_channel(target.api)
            try:
                with self.mu:
                    frm = self.last
                    self.connections.append((target.id, frm))
                    self.call = pb_grpc.ControllerServiceStub(ch).Watch(pb.WatchRequest(from_revision=frm))
                    call = self.call
                for ev in call:
                    self._apply(ev)
                self.breaks.append(f"member {target.id}: stream ended")
            except grpc.RpcError as e:
                if not self.stop.is_set():
                    self.breaks.append(f"member {target.id}: {e.code().name} {e.details()}")
            finally:
                ch.close()
            target = None
            time.sleep(0.02)


def create(cluster: Cluster, name: str) -> tuple[pb.CreateTopicsResponse.Item, int]:
    r = cluster.call("CreateTopics", pb.CreateTopicsRequest(topics=[pb.CreateTopicsRequest.Item(
        name=name, partitions=2, replication_factor=1, configs={"retention.ms": "3600000"})]))
    return r.topics[0], r.revision


@pytest.mark.timeout(120)
def test_watch_across_failover(cluster: Cluster):
    register_broker(cluster)
    leader = cluster.wait_for_leader()
    acked_creates: dict[str, int] = {}      # name -> the topic's revision
    acked_deletes: dict[str, int] = {}      # name -> response revision (>= the change)
    acked_configs: list[tuple[str, str, int]] = []  # (key, value, response revision)

    def do_create(name):
        item, _ = create(cluster, name)
        if item.result.code == pb.OK:
            acked_creates[name] = item.topic.updated.revision

    def do_delete(name):
        r = cluster.call("DeleteTopics", pb.DeleteTopicsRequest(names=[name]))
        if r.topics[0].result.code == pb.OK:
            acked_deletes[name] = r.revision

    def do_config(key, value):
        r = cluster.call("SetClusterConfig", pb.SetClusterConfigRequest(upsert={key: value}))
        if r.results[key].code == pb.OK:
            acked_configs.append((key, value, r.revision))

    # The watcher starts on the leader, so that the crash breaks its stream.
    with Watcher(cluster, leader) as w:
        wait_until(lambda: w.snapshots, 10, "the watcher's first event (a snapshot)")
        assert w.snapshots[0] >= 1
        for i in range(10):
            do_create(f"wt-{i:02d}")
        for i in range(0, 10, 3):
            do_delete(f"wt-{i:02d}")
        for v in ("2", "3"):
            do_config("default_topic_partitions", v)
        wait_until(lambda: w.revision() >= max(acked_creates.values()), 10,
                   "the watcher to see the writes before the crash")

        leader.kill()  # SIGKILL in the middle of the sequence

        for i in range(10, 20):
            do_create(f"wt-{i:02d}")
        for i in range(10, 20, 3):
            do_delete(f"wt-{i:02d}")
        do_config("log_retention_ms", "86400000")
        do_config("default_topic_partitions", "4")
        do_config("auto_create_topics_enabled", "true")

        final = cluster.call("ListTopics", pb.ListTopicsRequest())  # linearizable
        final_cfg = cluster.call("GetClusterConfig", pb.GetClusterConfigRequest())
        target_rev = max(final.revision, final_cfg.revision)
        wait_until(lambda: w.revision() >= target_rev, 15,
                   f"the watcher to reach revision {target_rev}")

    print(f"watch connections (member, from_revision): {w.connections}; breaks: {w.breaks}")
    assert len(acked_creates) == 20 and len(acked_deletes) == 8 and len(acked_configs) == 5, (
        acked_creates, acked_deletes, acked_configs)
    assert not w.order_errors, w.order_errors
    assert len(w.connections) >= 2, "the crash of the watched leader did not break the stream"
    # After the first snapshot the watcher resumed from its revision: no
    # further snapshot was needed (every delta is retained).
    assert len(w.snapshots) == 1, f"unexpected snapshots at {w.snapshots}"

    revs = [d.revision for d in w.deltas]
    assert revs == sorted(set(revs)), "delta revisions are not strictly increasing"

    # Every acknowledged change was seen exactly once.
    for name, rev in acked_creates.items():
        seen = [d.revision for d in w.deltas if d.WhichOneof("change") == "topic_upserted"
                and d.topic_upserted.name == name]
        assert seen == [rev], f"create of {name} at {rev}: seen at {seen}"
    for name, rev in acked_deletes.items():
        seen = [d.revision for d in w.deltas if d.WhichOneof("change") == "topic_deleted"
                and d.topic_deleted == name]
        assert len(seen) == 1 and acked_creates[name] < seen[0] <= rev, (
            f"delete of {name} (acknowledged at revision {rev}): seen at {seen}")
    for key, value, rev in acked_configs:
        seen = [d.revision for d in w.deltas if d.WhichOneof("change") == "config_set"
                and d.config_set.key == key and d.config_set.value == value]
        assert len(seen) == 1 and seen[0] <= rev, f"config {key}={value} (at {rev}): {seen}"

    # The rebuilt state equals what the group reports.
    assert w.revision() == target_rev
    assert sorted(w.topics) == sorted(t.name for t in final.topics)
    for t in final.topics:
        assert w.topics[t.name] == t, f"topic {t.name} differs"
    explicit = {e.key: e for e in final_cfg.entries if not e.is_default}
    assert sorted(w.config) == sorted(explicit)
    for k, e in explicit.items():
        assert w.config[k].value == e.value and w.config[k].updated == e.updated, k


@pytest.mark.timeout(90)
def test_watch_from_a_revision_no_longer_retained_gets_a_snapshot(cluster: Cluster):
    """A member restarted from a snapshot keeps no changes before it: a
    watcher resuming from an older revision there gets a full snapshot, and
    one resuming from a retained revision gets only the later changes."""
    register_broker(cluster)
    for i in range(5):
        item, _ = create(cluster, f"old-{i}")
        assert item.result.code == pb.OK
    m = next(x for x in cluster.members.values() if x.id != cluster.wait_for_leader().id)
    wait_until(lambda: m.stub().ListTopics(pb.ListTopicsRequest(
        read=pb.ReadOptions(stale=True))).revision >= item.topic.updated.revision, 10,
        f"member {m.id} to apply the writes")
    snap = m.stub().TakeSnapshot(pb.TakeSnapshotRequest(), timeout=10)
    assert snap.result.code == pb.OK, snap.result
    assert m.terminate() == 0
    m.start()
    state = wait_until(lambda: m.stub().ListTopics(pb.ListTopicsRequest(
        read=pb.ReadOptions(stale=True))), 10, f"member {m.id} back")
    horizon = state.revision

    # From revision 1 (long gone on this member): a snapshot of the current state.
    call = m.stub().Watch(pb.WatchRequest(from_revision=1), timeout=10)
    try:
        ev = next(call)
    finally:
        call.cancel()
    assert ev.HasField("snapshot"), f"expected a snapshot, got {ev}"
    assert ev.snapshot.revision >= horizon
    assert sorted(t.name for t in ev.snapshot.topics) == [f"old-{i}" for i in range(5)]

    # From the current revision: no snapshot, only what follows.
    call = m.stub().Watch(pb.WatchRequest(from_revision=horizon), timeout=10)
    try:
        item, _ = create(cluster, "new-0")
        assert item.result.code == pb.OK
        ev = next(call)
    finally:
        call.cancel()
    assert ev.HasField("delta"), f"expected a delta, got {ev}"
    assert ev.delta.topic_upserted.name == "new-0"
    assert ev.delta.revision == item.topic.updated.revision
