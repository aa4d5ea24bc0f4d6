"""Mountable topics end to end (docs/tiered-storage.md, rpk-reference §5 and
§11): `fjord cluster storage ...` against a real controller group with
cloud storage on the local-directory backend in a temp dir.

Two kinds of tests:

* Controller side (no broker process): the test itself plays the brokers'
  archivers, writing each partition's manifest into the bucket (and, once
  an unmount is executing, the final marker) exactly as tiered.md says they
  do. The migration driver on the controller leader does the rest: the
  topic mount manifest, cut over, the mount lock. Bad inputs, list-mount,
  status, cancel, a store that is down, secret redaction, and the whole
  unmount -> list-mountable -> mount (same name and --to) round trip.

* With brokers (`test_round_trip_with_brokers`): records produced with
  librdkafka through `fjord topic produce`, unmounted and mounted back by
  real fjord-broker processes (their archiver seals each partition; a
  mounted partition's log starts where it was unmounted, and what lies below
  is read from the bucket by the remote reader), and consumed byte for byte
  at their original offsets, under the same name and under another.

Every process is started by the fixtures on loopback and stopped by pid.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import (FJORD, Broker, Cluster, enable_cloud_storage, fjord, md, migration,
                      mount_manifest, pb, register_broker, started_id, state_name, storage,
                      topic, wait_state, wait_until)

# --------------------------------------------------------------------------
# helpers


def create_topic(cluster: Cluster, name: str, partitions: int = 2, tiered: bool = True,
                 **configs: str) -> md.Topic:
    cfg = {"redpanda.remote.write": "true"} if tiered else {}
    cfg.update({k.replace("_", "."): v for k, v in configs.items()})
    r = cluster.call("CreateTopics", pb.CreateTopicsRequest(topics=[pb.CreateTopicsRequest.Item(
        name=name, partitions=partitions, replication_factor=1, configs=cfg)]))
    assert r.topics[0].result.code == pb.OK, r.topics[0].result
    return r.topics[0].topic


class Archiver:
    """What the brokers' archivers write into the bucket (tiered.md and
    common/tiered/manifest.h): a partition manifest for every partition of
    a tiered topic, and on an unmount that is executing the final marker at
    the partition's log end. Partition p holds 10 * (p + 1) records."""

    def __init__(self, bucket: Path):
        self.bucket = bucket

    def manifest_path(self, location: str, p: int) -> Path:
        return self.bucket / "topics" / location / str(p) / "manifest.json"

    def upload(self, location: str, partitions: int, final_migration: int | None = None,
               start: list[int] | None = None) -> None:
        for p in range(partitions):
            first = start[p] if start else 0
            end = first + 10 * (p + 1)
            m = {"version": 1, "location": location, "partition": p, "start_offset": first,
                 "sequence": 1, "final": None,
                 # Written by this cluster (the location's): its final
                 # markers count only then (migration ids are per cluster).
                 "owner_cluster": location.split("/")[1],
                 "segments": [{"name": f"{first:020}-{end - 1:020}-1.log", "base_offset": first,
                               "last_offset": end - 1, "base_timestamp": 1, "max_timestamp": 2,
                               "epoch": 1, "size": 100, "crc32c": 7}]}
            if final_migration is not None:
                m["final"] = {"migration_id": final_migration, "next_offset": end}
            path = self.manifest_path(location, p)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.fjord-tmp")
            tmp.write_text(json.dumps(m))
            tmp.rename(path)


def unmount_to_the_bucket(cluster: Cluster, bucket: Path, name: str, partitions: int,
                          start: list[int] | None = None) -> tuple[int, str]:
    """Unmounts `name` playing its archivers (partitions starting at
    `start`); returns (migration id, location)."""
    location = topic(cluster, name).remote_location
    mid = started_id(storage(cluster, "unmount", name))
    arch = Archiver(bucket)
    arch.upload(location, partitions, start=start)
    wait_state(cluster, mid, "executing")
    arch.upload(location, partitions, final_migration=mid, start=start)
    wait_state(cluster, mid, "finished")
    return mid, location


@pytest.fixture
def tiered(cluster: Cluster, tmp_path: Path) -> tuple[Cluster, Path]:
    register_broker(cluster)
    bucket = tmp_path / "bucket"
    enable_cloud_storage(cluster, bucket)
    return cluster, bucket


# --------------------------------------------------------------------------
# controller side


def test_bad_inputs_are_refused_naming_the_reason(cluster: Cluster, tmp_path: Path):
    register_broker(cluster)
    # Cloud storage off: no tiered topics, no migrations.
    r = cluster.call("CreateTopics", pb.CreateTopicsRequest(topics=[pb.CreateTopicsRequest.Item(
        name="early", partitions=1, replication_factor=1,
        configs={"redpanda.remote.write": "true"})]))
    assert r.topics[0].result.code == pb.INVALID_CONFIG
    assert r.topics[0].result.field == "topics[0].configs.redpanda.remote.write"
    create_topic(cluster, "plain", tiered=False)
    p = storage(cluster, "unmount", "plain", check=False)
    assert p.returncode == 1 and "cloud storage disabled" in p.stderr, p.stderr

    bucket = tmp_path / "bucket"
    enable_cloud_storage(cluster, bucket)
    create_topic(cluster, "logs")
    # A compacted topic cannot be tiered; tiered storage cannot be turned off
    # under a tiered topic.
    r = cluster.call("CreateTopics", pb.CreateTopicsRequest(topics=[pb.CreateTopicsRequest.Item(
        name="compacted", partitions=1, replication_factor=1,
        configs={"redpanda.remote.write": "true", "cleanup.policy": "compact"})]))
    assert r.topics[0].result.code == pb.INVALID_CONFIG
    assert "compacted topics cannot be tiered yet" in r.topics[0].result.message
    p = fjord(cluster, "cluster", "config", "set", "cloud_storage_enabled=false", check=False)
    assert p.returncode == 1 and '"logs"' in p.stderr, p.stderr

    # Unknown topic, a topic without archival.
    p = storage(cluster, "unmount", "nope", check=False)
    assert p.returncode == 1 and 'topic "nope" does not exist' in p.stderr, p.stderr
    p = storage(cluster, "unmount", "plain", check=False)
    assert p.returncode == 1
    assert "topic with name plain does not have archiving enabled" in p.stderr, p.stderr
    p = storage(cluster, "unmount", "other/plain", check=False)
    assert p.returncode == 2 and "kafka namespace" in p.stderr, p.stderr

    # Mount: nothing by that name, a location without a manifest, a corrupt
    # manifest (refused at once, naming the location), a name collision.
    p = storage(cluster, "mount", "ghost", check=False)
    assert p.returncode == 1 and 'no unmounted topic "ghost"' in p.stderr, p.stderr
    cluster_uuid = cluster.call("Status", pb.StatusRequest()).cluster_uuid
    missing = f"ghost/{cluster_uuid}/00000000-0000-4000-8000-000000000001"
    p = storage(cluster, "mount", missing, check=False)
    assert p.returncode == 1 and f'"{missing}" is not mountable' in p.stderr, p.stderr
    corrupt = f"broken/{cluster_uuid}/00000000-0000-4000-8000-000000000002"
    mount_manifest(bucket, corrupt).parent.mkdir(parents=True)
    mount_manifest(bucket, corrupt).write_text("{not json")
    p = storage(cluster, "mount", "broken", check=False)
    assert p.returncode == 1 and f'"{corrupt}" is not mountable' in p.stderr, p.stderr
    assert "not JSON" in p.stderr
    p = storage(cluster, "list-mountable")
    assert "broken" not in p.stdout
    assert f"skipped mountable/{corrupt}/topic_manifest.json" in p.stderr, p.stderr

    mid, location = unmount_to_the_bucket(cluster, bucket, "logs", 2)
    create_topic(cluster, "logs", tiered=False)  # a new topic took the name
    p = storage(cluster, "mount", "logs", check=False)
    assert p.returncode == 1 and 'topic "logs" already exists' in p.stderr, p.stderr
    p = storage(cluster, "mount", "logs", "--to", "plain", check=False)
    assert p.returncode == 1 and 'topic "plain" already exists' in p.stderr, p.stderr

    # Cancelling a finished migration; an unknown one.
    p = storage(cluster, "cancel-mount", str(mid), check=False)
    assert p.returncode == 1 and "it has finished" in p.stderr, p.stderr
    p = storage(cluster, "cancel-unmount", "999", check=False)
    assert p.returncode == 1 and "no migration 999" in p.stderr, p.stderr
    p = storage(cluster, "status-mount", "999", check=False)
    assert p.returncode == 1 and "no migration 999" in p.stderr, p.stderr
    p = storage(cluster, "list-mount", "--filter", "sideways", check=False)
    assert p.returncode == 2, p.stderr

    # The failed calls changed nothing: one migration, the mount manifest
    # still there.
    assert len(cluster.call("ListMigrations", pb.ListMigrationsRequest()).migrations) == 1
    assert mount_manifest(bucket, location).exists()


def test_round_trip_unmount_list_mountable_mount(tiered):
    cluster, bucket = tiered
    made = create_topic(cluster, "orders", partitions=2, retention_ms="100000")
    location = made.remote_location
    assert location == f"orders/{cluster.call('Status', pb.StatusRequest()).cluster_uuid}/{made.uuid}"

    p = storage(cluster, "unmount", "orders")
    mid = started_id(p)
    assert p.stdout.startswith(
        f'Topic unmounting from your Fjord cluster topic "orders" has started with Migration '
        f"ID {mid}")
    assert f"fjord cluster storage status-unmount {mid}" in p.stdout
    # No partition has uploaded yet: the migration waits in preparing and
    # says why; the topic is locked.
    m = wait_until(lambda: (lambda m: m if m.status else None)(migration(cluster, mid)), 10,
                   "a status")
    assert state_name(m.state) == "preparing"
    assert m.status.startswith('partition 0 of topic "orders" has not uploaded its manifest yet')
    st = json.loads(storage(cluster, "status-mount", str(mid), "--format", "json").stdout)
    assert st == {"id": mid, "state": "preparing", "type": "unmount", "topics": ["orders"],
                  "status": m.status}
    p = fjord(cluster, "topic", "delete", "orders", check=False)
    assert "being unmounted" in p.stdout + p.stderr
    t = topic(cluster, "orders")
    assert t.migration.id == mid and state_name(t.migration.state) == "preparing"

    arch = Archiver(bucket)
    arch.upload(location, 2)
    wait_state(cluster, mid, "executing")
    rows = storage(cluster, "list-mount").stdout.splitlines()
    assert rows[0].split() == ["ID", "STATE", "MIGRATION", "TOPICS"]
    assert rows[1].split() == [str(mid), "executing", "unmount", "orders"]
    assert json.loads(storage(cluster, "list-unmount", "-f", "finished", "--format",
                              "json").stdout) == []
    arch.upload(location, 2, final_migration=mid)
    wait_state(cluster, mid, "finished")
    assert topic(cluster, "orders") is None
    mf = json.loads(mount_manifest(bucket, location).read_text())
    assert mf["next_offsets"] == [10, 20] and mf["migration_id"] == mid
    assert mf["configs"]["retention.ms"] == "100000" and mf["replication_factor"] == 1

    listed = json.loads(storage(cluster, "list-mountable", "--format", "json").stdout)
    assert listed == [{"topic": "orders", "namespace": "kafka", "topic_location": location}]
    rows = storage(cluster, "list-mountable").stdout.splitlines()
    assert rows[0].split() == ["TOPIC", "NAMESPACE", "LOCATION"]
    assert rows[1].split() == ["orders", "kafka", location]

    # Mount it back under its own name, waiting: the topic is recreated
    # where its partitions ended, reading below that from the bucket.
    p = storage(cluster, "mount", "kafka/orders", "--wait")
    back = started_id(p)
    assert p.stdout.startswith(
        f'Topic mount from Tiered Storage topic "orders" to your Fjord cluster topic "orders" '
        f"has started with Migration ID {back}")
    assert p.stdout.rstrip().endswith(f"Migration {back} finished.")
    t = topic(cluster, "orders")
    assert t.remote_location == location and t.uuid != made.uuid
    assert [pa.start_offset for pa in t.partitions] == [10, 20]
    assert t.configs["retention.ms"] == "100000"
    assert t.configs["redpanda.remote.read"] == "true"
    assert not t.HasField("migration")
    assert not mount_manifest(bucket, location).exists()  # the lock is taken
    assert json.loads(storage(cluster, "list-mountable", "--format", "json").stdout) == []

    # Unmount it again (its archiver continues the same location from its
    # new start), then mount it --to another name.
    mid2, _ = unmount_to_the_bucket(cluster, bucket, "orders", 2, start=[10, 20])
    assert json.loads(mount_manifest(bucket, location).read_text())["next_offsets"] == [20, 40]
    p = storage(cluster, "mount", location, "--to", "orders-copy", "--wait")
    assert '"orders" to your Fjord cluster topic "orders-copy"' in p.stdout
    t = topic(cluster, "orders-copy")
    assert [pa.start_offset for pa in t.partitions] == [20, 40]
    assert topic(cluster, "orders") is None
    ms = json.loads(storage(cluster, "list-mount", "--format", "json").stdout)
    assert [(m["id"], m["type"], m["state"]) for m in ms] == [
        (mid, "unmount", "finished"), (back, "mount", "finished"), (mid2, "unmount", "finished"),
        (mid2 + 1, "mount", "finished")]
    assert ms[3]["topics"] == ["orders -> orders-copy"]


def test_cancel_leaves_the_topic_served_unchanged(tiered):
    cluster, bucket = tiered
    made = create_topic(cluster, "events", partitions=1, retention_ms="5000")
    location = made.remote_location
    # Cancelled while preparing (nothing uploaded).
    mid = started_id(storage(cluster, "unmount", "events"))
    wait_state(cluster, mid, "preparing")
    p = storage(cluster, "cancel-unmount", str(mid))
    assert p.stdout.strip() == f"Successfully canceled the operation with ID {mid}"
    wait_state(cluster, mid, "cancelled")
    t = topic(cluster, "events")
    assert not t.HasField("migration") and t.uuid == made.uuid
    assert dict(t.configs) == dict(made.configs)
    p = storage(cluster, "cancel-mount", str(mid), check=False)
    assert p.returncode == 1 and "cancelled already" in p.stderr

    # Cancelled while executing (prepared went by at once): the brokers had
    # blocked it; it is served again, and nothing is mountable.
    mid = started_id(storage(cluster, "unmount", "events"))
    Archiver(bucket).upload(location, 1)
    wait_state(cluster, mid, "executing")
    assert state_name(topic(cluster, "events").migration.state) == "executing"
    storage(cluster, "cancel-mount", str(mid))
    wait_state(cluster, mid, "cancelled")
    t = topic(cluster, "events")
    assert not t.HasField("migration") and dict(t.configs) == dict(made.configs)
    assert not mount_manifest(bucket, location).exists()
    # --wait on a migration that gets cancelled exits 1.
    waiter = subprocess.Popen(
        [str(FJORD), "-X", "controllers=" + ",".join(m.api for m in cluster.members.values()),
         "cluster", "storage", "unmount", "events", "--wait"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={"HOME": "/nonexistent", "PATH": "/usr/bin:/bin"})
    try:
        def newest_waiting():
            # Its partitions uploaded already: it waits in executing for
            # the final markers.
            ms = cluster.call("ListMigrations", pb.ListMigrationsRequest()).migrations
            return ms[-1].id if ms and ms[-1].id > mid and state_name(
                ms[-1].state) == "executing" else None
        waited = wait_until(newest_waiting, 15, "the waited unmount executing")
        storage(cluster, "cancel-mount", str(waited))
        out, err = waiter.communicate(timeout=30)
    finally:
        if waiter.poll() is None:
            waiter.kill()
    assert waiter.returncode == 1, out + err
    assert f"Migration ID {waited}" in out
    assert f"migration {waited} was cancelled" in err, err
    storage(cluster, "delete-mount", str(waited))
    assert all(m.id != waited for m in cluster.call("ListMigrations",
                                                    pb.ListMigrationsRequest()).migrations)
    # An active migration cannot be deleted, a cancelled one can.
    active = started_id(storage(cluster, "unmount", "events"))
    wait_state(cluster, active, "executing")
    p = storage(cluster, "delete-mount", str(active), check=False)
    assert p.returncode == 1 and "cancel it first" in p.stderr, p.stderr
    storage(cluster, "cancel-mount", str(active))
    wait_state(cluster, active, "cancelled")

    # A mount cancelled while it waits (its lock went away: mounted
    # elsewhere): nothing is created here and the bucket is untouched.
    _, _ = unmount_to_the_bucket(cluster, bucket, "events", 1)
    assert topic(cluster, "events") is None
    partition_manifest = Archiver(bucket).manifest_path(location, 0)
    before = partition_manifest.read_bytes()
    # The store fails reading the manifest (a directory where it should
    # be): the mount is created and waits.
    lock = mount_manifest(bucket, location)
    lock.rename(bucket / "elsewhere.json")
    lock.mkdir()
    back = started_id(storage(cluster, "mount", location))
    wait_until(lambda: migration(cluster, back).status, 10, "a status")
    lock.rmdir()  # and then the manifest is gone: mounted elsewhere
    m = wait_until(lambda: (lambda m: m if "is gone" in m.status else None)(
        migration(cluster, back)), 15, "the lock gone")
    assert state_name(m.state) == "preparing"
    storage(cluster, "cancel-mount", str(back))
    wait_state(cluster, back, "cancelled")
    assert topic(cluster, "events") is None
    assert partition_manifest.read_bytes() == before
    (bucket / "elsewhere.json").rename(lock)
    listed = json.loads(storage(cluster, "list-mountable", "--format", "json").stdout)
    assert [t["topic_location"] for t in listed] == [location]


def test_mount_while_the_store_fails_waits_and_says_why(tiered):
    cluster, bucket = tiered
    create_topic(cluster, "metrics", partitions=1)
    _, location = unmount_to_the_bucket(cluster, bucket, "metrics", 1)
    # Reading the mount manifest fails (a directory stands where the object
    # is): the store answers with an error that is neither "not found" nor
    # "corrupt", so the mount is not refused; it waits and says why.
    lock = mount_manifest(bucket, location)
    saved = lock.read_bytes()
    lock.unlink()
    lock.mkdir()
    try:
        mid = started_id(storage(cluster, "mount", location))
        m = wait_until(lambda: (lambda m: m if m.status else None)(migration(cluster, mid)), 10,
                       "a status")
        assert state_name(m.state) == "preparing"
        assert m.status.startswith(f"object store error while reading mountable/{location}"), (
            m.status)
        st = storage(cluster, "status-mount", str(mid)).stdout
        assert "Waiting: object store error" in st, st
        assert topic(cluster, "metrics") is None
    finally:
        lock.rmdir()
        lock.write_bytes(saved)
    # The store answers again: the retry goes on by itself.
    wait_state(cluster, mid, "finished", timeout=30)
    assert migration(cluster, mid).status == ""
    assert topic(cluster, "metrics").remote_location == location


@pytest.mark.timeout(180)
def test_a_killed_controller_leader_changes_nothing(tiered):
    """SIGKILL of the controller leader while a migration waits in each
    state: the next leader's driver continues from the replicated state and
    the bucket, and the migration finishes with nothing lost."""
    cluster, bucket = tiered
    made = create_topic(cluster, "audit", partitions=3, retention_ms="7000")
    location = made.remote_location
    arch = Archiver(bucket)

    def kill_leader() -> None:
        leader = cluster.wait_for_leader()
        cluster.kill(leader.id)
        cluster.wait_for_leader(exclude=[leader.id])
        cluster.start(leader.id)  # back as a follower, for the next kill's quorum

    mid = started_id(storage(cluster, "unmount", "audit"))
    wait_state(cluster, mid, "preparing")
    kill_leader()
    arch.upload(location, 3)
    wait_state(cluster, mid, "executing")
    kill_leader()
    arch.upload(location, 3, final_migration=mid)
    wait_state(cluster, mid, "finished", timeout=30)
    assert topic(cluster, "audit") is None
    assert json.loads(mount_manifest(bucket, location).read_text())["next_offsets"] == [10, 20, 30]

    back = started_id(storage(cluster, "mount", "audit"))
    kill_leader()  # wherever the mount is by now
    wait_state(cluster, back, "finished", timeout=30)
    t = topic(cluster, "audit")
    assert [p.start_offset for p in t.partitions] == [10, 20, 30]
    assert t.configs["retention.ms"] == "7000" and not t.HasField("migration")
    assert not mount_manifest(bucket, location).exists()
    ms = cluster.call("ListMigrations", pb.ListMigrationsRequest()).migrations
    assert [(m.id, state_name(m.state)) for m in ms] == [(mid, "finished"), (back, "finished")]


def test_secret_keys_are_redacted_and_still_set(tiered, tmp_path: Path):
    cluster, _ = tiered
    fjord(cluster, "cluster", "config", "set", "cloud_storage_secret_key=s3cr3t-value",
          "cloud_storage_access_key=AKIAEXAMPLE")
    p = fjord(cluster, "cluster", "config", "get", "cloud_storage_secret_key")
    assert p.stdout.strip() == "[secret]"
    r = cluster.call("GetClusterConfig", pb.GetClusterConfigRequest(include_schema=True))
    entries = {e.key: e for e in r.entries}
    assert entries["cloud_storage_secret_key"].value == "[secret]"
    assert entries["cloud_storage_secret_key"].redacted
    assert entries["cloud_storage_access_key"].value == "[secret]"
    assert {s.name for s in r.schema if s.secret} == {"cloud_storage_secret_key",
                                                      "cloud_storage_access_key"}
    listed = fjord(cluster, "cluster", "config", "list", "--format", "json").stdout
    assert "s3cr3t-value" not in listed and "AKIAEXAMPLE" not in listed
    # export writes [secret]; importing that file keeps the credential.
    exported = tmp_path / "cfg.yaml"
    fjord(cluster, "cluster", "config", "export", "-f", str(exported))
    assert "s3cr3t-value" not in exported.read_text()
    p = fjord(cluster, "cluster", "config", "import", "-f", str(exported))
    assert "No changes" in p.stdout, p.stdout
    # Brokers get the value itself through Watch (CLUSTER_ACTION).
    stream = cluster.leader().stub().Watch(pb.WatchRequest(from_revision=0), timeout=5)
    snap = next(iter(stream)).snapshot
    stream.cancel()
    values = {c.key: c.value for c in snap.cluster_config}
    assert values["cloud_storage_secret_key"] == "s3cr3t-value"


# --------------------------------------------------------------------------
# with brokers: needs the brokers' archiver (final upload, final marker,
# blocked topics) and mounted partitions' remote reads (H-ARCH, H-READ).


def records(cluster: Cluster, broker: Broker, *args: str, stdin: str | None = None,
            check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    controllers = ",".join(m.api for m in cluster.members.values())
    p = subprocess.run([str(FJORD), "-X", f"controllers={controllers}", "-X",
                        f"brokers={broker.bootstrap}", *args], input=stdin, capture_output=True,
                       text=True, timeout=timeout,
                       env={"HOME": "/nonexistent", "PATH": "/usr/bin:/bin"})
    if check:
        assert p.returncode == 0, f"fjord {' '.join(args)}: {p.stdout}\n{p.stderr}"
    return p


def consume_all(cluster: Cluster, broker: Broker, name: str, n: int) -> list[tuple[int, int, str]]:
    """The first `n` records of every partition, by (partition, offset); []
    when they cannot all be read (yet)."""
    try:
        c = records(cluster, broker, "--format", "json", "topic", "consume", name, "-o", "start",
                    "-n", str(n), check=False, timeout=20)
    except subprocess.TimeoutExpired:
        return []
    out = [json.loads(ln) for ln in c.stdout.splitlines() if ln.strip()]
    return sorted((r["partition"], r["offset"], r["value"]) for r in out)


@pytest.mark.timeout(240)
def test_round_trip_with_brokers(cluster: Cluster, broker: Broker, tmp_path: Path):
    bucket = tmp_path / "bucket"
    enable_cloud_storage(cluster, bucket)
    fjord(cluster, "topic", "create", "sensor", "-p", "3", "-c", "redpanda.remote.write=true",
          "--wait=15s")
    lines = "".join(f"k{i}:reading {i} " + "x" * (i % 50) + "\n" for i in range(300))
    records(cluster, broker, "topic", "produce", "sensor", "-f", "%k:%v\\n", stdin=lines)
    before = consume_all(cluster, broker, "sensor", 300)
    assert len(before) == 300

    p = storage(cluster, "unmount", "sensor", "--wait", timeout=120)
    assert "finished." in p.stdout
    assert topic(cluster, "sensor") is None
    listed = json.loads(storage(cluster, "list-mountable", "--format", "json").stdout)
    assert [t["topic"] for t in listed] == ["sensor"]

    storage(cluster, "mount", "sensor", "--wait", timeout=120)
    # Each partition's local log starts where it was unmounted; a new record
    # goes there.
    ends = {p: max(o for q, o, _ in before if q == p) + 1 for p in range(3)}
    t = topic(cluster, "sensor")
    assert {p.partition: p.start_offset for p in t.partitions} == ends
    records(cluster, broker, "topic", "produce", "sensor", "-p", "0", stdin="after mount\n")
    c = records(cluster, broker, "--format", "json", "topic", "consume", "sensor", "-p", "0",
                "-o", str(ends[0]), "-n", "1")
    got = json.loads(c.stdout)
    assert (got["offset"], got["value"]) == (ends[0], "after mount")
    # Every record below that is read from the bucket (the remote reader).
    want = sorted(before + [(0, ends[0], "after mount")])
    wait_until(lambda: consume_all(cluster, broker, "sensor", 301) == want, 60,
               "every record at its original offset")
    # And --to another name.
    storage(cluster, "unmount", "sensor", "--wait", timeout=120)
    storage(cluster, "mount", "sensor", "--to", "sensor-copy", "--wait", timeout=120)
    wait_until(lambda: consume_all(cluster, broker, "sensor-copy", 301) == want, 60,
               "every record under the new name")
