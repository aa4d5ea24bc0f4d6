"""Mountable topics under faults, end to end (issue 16's remaining tests;
docs/tiered-storage.md "Migration states" and "Failures"): real
fjord-controller groups and fjord-broker processes on loopback, records
produced and consumed with librdkafka (tests/clients/rdkafka_client).

* Kill at each state: an unmount (and a mount) is held in a state, the
  controller leader or the broker is SIGKILLed and restarted there, the
  hold is released, and the migration must still finish; the topic is then
  mounted back and every record read at its original offset, byte for byte.
* Cancel at each cancellable state: held the same way, cancelled; the topic
  is served again unchanged (every record at its offset) and takes new
  records.
* Two clusters sharing one bucket: unmounted in A, mounted and read in B;
  A no longer lists it and cannot mount it (the mount manifest is the lock).
* The same round trip on the S3 backend against s3rver, started here on
  loopback (scripts/s3rver, installed by scripts/install-deps) and stopped
  by pid.

How a state is held (the driver leaves a state as soon as what it waits for
holds, so a state is only seen if something keeps it there):

| state | held by | released by |
|---|---|---|
| unmount preparing | a partition added while the broker is SIGSTOPped: it has no manifest yet | SIGCONT (or the restart) of the broker |
| unmount executing | the broker SIGSTOPped: no partition seals its final upload | SIGCONT (or the restart) |
| unmount cut_over | a file where `mountable/<topic>` should be: the mount manifest cannot be written | removing the file |
| mount preparing | a directory where the mount manifest should be: it cannot be read | putting the manifest back |

prepared and executed (unmount) and prepared, executing, executed (mount)
are left in the same driver pass as they are entered, with nothing to wait
for, so no test can stop a migration in them without changing the product;
the tests that cross them (every round trip) check the outcome only. A
cancel in an unmount's executed (it leaves nothing mountable: the mount
manifest is written only in cut_over) is checked by the driver's unit test
(controller/migration/driver_test.cc).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from conftest import (RDKAFKA_CLIENT, REPO_ROOT, Broker, Cluster, enable_cloud_storage, fjord,
                      kcat, metric, migration, mount_manifest, parse_metrics, rdkafka, spawn,
                      started_id, state_name, storage, topic, wait_state, wait_until)

PARTITIONS = 3
COUNT = 300  # records produced before the unmount
SIZE = 200

Record = tuple[int, int, str]  # (partition, offset, value)


# --------------------------------------------------------------------------
# helpers


def produce(broker: Broker, name: str, count: int = COUNT) -> None:
    out = rdkafka("produce", "--bootstrap", broker.bootstrap, "--topic", name, "--count",
                  str(count), "--size", str(SIZE), "--linger-ms", "0", timeout=60)
    assert out[-1]["delivered"] == count and out[-1]["failed"] == 0, out[-1]


def consume(broker: Broker, name: str, count: int) -> list[Record]:
    """Every partition from its start until `count` records, sorted; [] when
    they cannot all be read (yet)."""
    try:
        p = subprocess.run([str(RDKAFKA_CLIENT), "consume", "--bootstrap", broker.bootstrap,
                            "--topic", name, "--count", str(count), "--records", "--timeout-s",
                            "15"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return []
    if p.returncode != 0:
        return []
    events = [json.loads(ln) for ln in p.stdout.splitlines() if ln.strip()]
    return sorted((e["partition"], e["offset"], e["value"]) for e in events
                  if e["event"] == "record")


def wait_served(broker: Broker, name: str, partitions: int) -> None:
    """Until the broker's metadata has the topic with its partitions, as a
    client retrying UNKNOWN_TOPIC_OR_PART sees it (rdkafka_client assigns
    itself the partitions of its first metadata answer only). The broker
    learns of a mount through its controller Watch: after a controller
    leader kill that takes up to ~5 s when its Watch reconnects to a follower
    during the election (the follower's read barrier times out first)."""
    def served():
        c = kcat("-b", broker.bootstrap, "-L", "-J", "-t", name, timeout=10)
        if c.returncode != 0:
            return False
        (t,) = json.loads(c.stdout)["topics"]
        return not t.get("error") and len(t["partitions"]) == partitions
    wait_until(served, 20, f"the broker serving {name}'s {partitions} partitions", interval=0.1)


def expected_value(i: int) -> str:
    """rdkafka_client's record i: "<i>:" padded with 'x' to SIZE bytes."""
    head = f"{i}:"
    return head + "x" * (SIZE - len(head))


def ends(records: list[Record], partitions: int) -> list[int]:
    """Each partition's next offset."""
    return [max((o + 1 for p, o, _ in records if p == q), default=0) for q in range(partitions)]


def create_tiered(cluster: Cluster, name: str, partitions: int = PARTITIONS) -> None:
    fjord(cluster, "topic", "create", name, "-p", str(partitions), "-c",
          "redpanda.remote.write=true", "-c", "redpanda.remote.read=true", "--wait=15s")


def produce_and_read_back(cluster: Cluster, broker: Broker, bucket: Path,
                          name: str) -> list[Record]:
    """A tiered topic with COUNT records; what a consumer reads of it, once
    every partition has its manifest in the bucket."""
    create_tiered(cluster, name)
    produce(broker, name)
    before = wait_until(lambda: consume(broker, name, COUNT), 30, "the records produced")
    assert sorted(v for _, _, v in before) == sorted(expected_value(i) for i in range(COUNT))
    assert len({p for p, _, _ in before}) > 1, "the records span several partitions"
    location = topic(cluster, name).remote_location
    wait_until(lambda: all(partition_manifest(bucket, location, p).exists()
                           for p in range(PARTITIONS)), 20, "every partition manifest")
    return before


def partition_manifest(bucket: Path, location: str, p: int) -> Path:
    return bucket / "topics" / location / str(p) / "manifest.json"


def mountable(cluster: Cluster) -> list[dict]:
    return json.loads(storage(cluster, "list-mountable", "--format", "json").stdout)


def kill_controller_leader(cluster: Cluster) -> None:
    leader = cluster.wait_for_leader()
    cluster.kill(leader.id)
    cluster.wait_for_leader(exclude=[leader.id])
    cluster.start(leader.id)  # back as a follower


def pause(broker: Broker) -> None:
    os.kill(broker.proc.pid, signal.SIGSTOP)


def resume(broker: Broker) -> None:
    if broker.proc is not None and broker.proc.poll() is None:
        os.kill(broker.proc.pid, signal.SIGCONT)


def mount_back_and_check(cluster: Cluster, broker: Broker, bucket: Path, name: str,
                         location: str, before: list[Record], partitions: int) -> None:
    """Mounts `location` under `name`; every record is read at its original
    offset, byte for byte, and the lock (the mount manifest) is taken."""
    storage(cluster, "mount", location, "--to", name, "--wait", timeout=60)
    t = topic(cluster, name)
    assert t.remote_location == location and not t.HasField("migration")
    assert [p.start_offset for p in t.partitions] == ends(before, partitions)
    assert not mount_manifest(bucket, location).exists()
    wait_served(broker, name, partitions)
    wait_until(lambda: consume(broker, name, COUNT) == before, 60,
               "every record at its original offset after the mount")


class Hold:
    """Keeps a migration of `name` in `state` (module docstring) until
    released; `release` is idempotent and runs at teardown too."""

    def __init__(self, state: str, cluster: Cluster, broker: Broker, bucket: Path, name: str):
        self.state, self.cluster, self.broker, self.bucket, self.name = (
            state, cluster, broker, bucket, name)
        self.blocker: Path | None = None
        self.paused = False
        self.saved: bytes | None = None

    def set(self) -> None:
        """Before the migration starts."""
        if self.state == "preparing":
            pause(self.broker)
            self.paused = True
            # Assigned to the paused broker (the only one): no manifest yet.
            fjord(self.cluster, "topic", "add-partitions", self.name, "-n", "1")
        elif self.state == "executing":
            pause(self.broker)
            self.paused = True
        elif self.state == "cut_over":
            self.blocker = self.bucket / "mountable" / self.name
            self.blocker.parent.mkdir(parents=True, exist_ok=True)
            self.blocker.write_text("not a directory: the mount manifest cannot be written\n")
        elif self.state == "mount-preparing":
            location = topic_location_in_bucket(self.bucket, self.name)
            self.blocker = mount_manifest(self.bucket, location)
            self.saved = self.blocker.read_bytes()
            self.blocker.unlink()
            self.blocker.mkdir()
        else:
            raise AssertionError(self.state)

    def why(self) -> str:
        """What the migration's status says while held."""
        return {"preparing": f'partition {PARTITIONS} of topic "{self.name}" has not uploaded '
                             "its manifest yet",
                "executing": f'of topic "{self.name}" has not sealed its final upload yet',
                "cut_over": f"object store error while writing mountable/{self.name}/",
                "mount-preparing": "object store error while reading mountable/"}[self.state]

    def release(self) -> None:
        if self.paused:
            resume(self.broker)
            self.paused = False
        if self.blocker is not None:
            if self.saved is not None:
                self.blocker.rmdir()
                self.blocker.write_bytes(self.saved)
            else:
                self.blocker.unlink()
            self.blocker = None


def topic_location_in_bucket(bucket: Path, name: str) -> str:
    (found,) = (bucket / "mountable" / name).glob("*/*/topic_manifest.json")
    return str(found.parent.relative_to(bucket / "mountable"))


def wait_held(cluster: Cluster, mid: int, hold: Hold) -> None:
    state = hold.state.removeprefix("mount-")

    def held():
        m = migration(cluster, mid)
        return m if state_name(m.state) == state and hold.why() in m.status else None
    wait_until(held, 20, f"migration {mid} held in {state} ({hold.why()})")


@pytest.fixture
def tiered(cluster: Cluster, broker: Broker, tmp_path: Path):
    bucket = tmp_path / "bucket"
    enable_cloud_storage(cluster, bucket)
    return cluster, broker, bucket


# --------------------------------------------------------------------------
# kill at each state


@pytest.mark.timeout(120)
@pytest.mark.parametrize("victim", ["controller-leader", "broker"])
@pytest.mark.parametrize("state", ["preparing", "executing", "cut_over", "mount-preparing"])
def test_kill_at_each_state_and_the_migration_finishes(tiered, state: str, victim: str):
    cluster, broker, bucket = tiered
    before = produce_and_read_back(cluster, broker, bucket, "t")
    location = topic(cluster, "t").remote_location
    hold = Hold(state, cluster, broker, bucket, "t")
    partitions = PARTITIONS + (1 if state == "preparing" else 0)
    try:
        if state.startswith("mount-"):
            storage(cluster, "unmount", "t", "--wait", timeout=60)
            hold.set()
            mid = started_id(storage(cluster, "mount", location))
        else:
            hold.set()
            mid = started_id(storage(cluster, "unmount", "t"))
        wait_held(cluster, mid, hold)

        if victim == "controller-leader":
            kill_controller_leader(cluster)
            # The new leader's driver takes over where it was: still held.
            wait_held(cluster, mid, hold)
            hold.release()
        else:
            hold.paused = False  # SIGKILL ends a stopped process as well
            broker.kill()
            broker.start()
            if hold.state != "preparing" and hold.state != "executing":
                wait_held(cluster, mid, hold)
            hold.release()
        wait_state(cluster, mid, "finished", timeout=30)
    finally:
        hold.release()

    if state.startswith("mount-"):
        t = topic(cluster, "t")
        assert [p.start_offset for p in t.partitions] == ends(before, partitions)
        wait_served(broker, "t", partitions)
        wait_until(lambda: consume(broker, "t", COUNT) == before, 60,
                   "every record at its original offset after the mount")
        return
    assert topic(cluster, "t") is None
    assert mountable(cluster) == [{"topic": "t", "namespace": "kafka", "topic_location": location}]
    mf = json.loads(mount_manifest(bucket, location).read_text())
    assert mf["migration_id"] == mid and mf["next_offsets"] == ends(before, partitions)
    mount_back_and_check(cluster, broker, bucket, "t", location, before, partitions)


# --------------------------------------------------------------------------
# cancel at each cancellable state


@pytest.mark.timeout(120)
@pytest.mark.parametrize("state", ["preparing", "executing"])
def test_cancel_at_each_state_serves_the_topic_again_unchanged(tiered, state: str):
    cluster, broker, bucket = tiered
    before = produce_and_read_back(cluster, broker, bucket, "t")
    hold = Hold(state, cluster, broker, bucket, "t")
    try:
        hold.set()
        made = topic(cluster, "t")
        mid = started_id(storage(cluster, "unmount", "t"))
        wait_held(cluster, mid, hold)
        p = storage(cluster, "cancel-mount", str(mid))
        assert p.stdout.strip() == f"Successfully canceled the operation with ID {mid}"
        hold.release()
        wait_state(cluster, mid, "cancelled")
    finally:
        hold.release()

    t = topic(cluster, "t")
    assert not t.HasField("migration")
    assert (t.uuid, dict(t.configs), t.remote_location, len(t.partitions)) == (
        made.uuid, dict(made.configs), made.remote_location, len(made.partitions))
    assert not mount_manifest(bucket, made.remote_location).exists()
    assert mountable(cluster) == []
    # Served again, unchanged: every record at its offset.
    wait_until(lambda: consume(broker, "t", COUNT) == before, 30,
               "every record at its offset after the cancel")
    # And it takes new records, after the old ones.
    produce(broker, "t", 50)
    after = wait_until(lambda: consume(broker, "t", COUNT + 50), 30, "the new records")
    assert set(before) <= set(after)
    old_ends = ends(before, len(made.partitions))
    assert all(o >= old_ends[p] for p, o, _ in set(after) - set(before))
    # A sealed partition's final marker is dropped: it is no longer owed.
    for p in range(len(made.partitions)):
        wait_until(lambda p=p: json.loads(partition_manifest(
            bucket, made.remote_location, p).read_text())["final"] is None, 20,
            f"partition {p}'s manifest without a final marker")


# --------------------------------------------------------------------------
# a second cluster sharing the bucket


@pytest.mark.timeout(120)
def test_a_second_cluster_sharing_the_bucket_mounts_it_and_takes_the_lock(cluster_factory,
                                                                          tmp_path: Path):
    bucket = tmp_path / "bucket"
    clusters, brokers = [], []
    try:
        for side in ("a", "b"):
            c = cluster_factory(1)
            c.start()
            c.wait_for_leader()
            b = Broker(c, tmp_path / side)
            b.start()
            enable_cloud_storage(c, bucket)
            clusters.append(c)
            brokers.append(b)
        (a, b), (broker_a, broker_b) = clusters, brokers
        before = produce_and_read_back(a, broker_a, bucket, "t")
        location = topic(a, "t").remote_location
        storage(a, "unmount", "t", "--wait", timeout=60)
        assert topic(a, "t") is None
        listed = [{"topic": "t", "namespace": "kafka", "topic_location": location}]
        assert mountable(a) == listed and mountable(b) == listed

        p = storage(b, "mount", "t", "--wait", timeout=60)
        assert '"t" to your Fjord cluster topic "t"' in p.stdout
        t = topic(b, "t")
        assert t.remote_location == location  # A's cluster and topic uuids: no copy
        assert [pa.start_offset for pa in t.partitions] == ends(before, PARTITIONS)
        wait_served(broker_b, "t", PARTITIONS)
        wait_until(lambda: consume(broker_b, "t", COUNT) == before, 60,
                   "every record at its original offset in cluster B")

        # The mount manifest is gone: A sees nothing to mount, and cannot
        # mount it again, by name or by location.
        assert not mount_manifest(bucket, location).exists()
        assert mountable(a) == [] and mountable(b) == []
        p = storage(a, "mount", "t", check=False)
        assert p.returncode == 1 and 'no unmounted topic "t"' in p.stderr, p.stderr
        p = storage(a, "mount", location, check=False)
        assert p.returncode == 1 and f'"{location}" is not mountable' in p.stderr, p.stderr
        assert topic(a, "t") is None
    finally:
        for b in brokers:
            b.stop()


# --------------------------------------------------------------------------
# the S3 backend, on s3rver

S3_BUCKET = "fjord-e2e"


@pytest.fixture
def s3rver(tmp_path: Path):
    """s3rver on 127.0.0.1 (a free port the kernel picks), its bucket made at
    start (--configure-bucket), as common/objstore/s3_store_s3rver_test.cc
    starts it; stopped by pid. Yields (port, its data directory)."""
    data = tmp_path / "s3rver"
    data.mkdir()
    log = tmp_path / "s3rver.log"
    proc = spawn([str(REPO_ROOT / "scripts" / "s3rver"), "--port", "0", "--directory", str(data),
                  "--configure-bucket", S3_BUCKET, "--silent"], log)
    ready = "S3rver listening on 127.0.0.1:"
    try:
        def listening():
            text = log.read_text(errors="replace")
            if ready in text:
                return int(text.split(ready, 1)[1].split()[0])
            if proc.poll() is not None:
                pytest.fail(f"scripts/s3rver exited with {proc.returncode} before listening "
                            f"(run scripts/install-deps if s3rver is missing):\n{text}",
                            pytrace=False)
            return None
        port = wait_until(listening, 20, "s3rver listening")
        yield port, data
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.mark.timeout(120)
def test_round_trip_on_the_s3_backend(cluster: Cluster, broker: Broker, s3rver, tmp_path: Path):
    port, data = s3rver
    fjord(cluster, "cluster", "config", "set", "cloud_storage_enabled=true",
          "cloud_storage_backend=s3", f"cloud_storage_bucket={S3_BUCKET}",
          "cloud_storage_api_endpoint=127.0.0.1", f"cloud_storage_api_endpoint_port={port}",
          "cloud_storage_url_style=path", "cloud_storage_disable_tls=true",
          # the one access key id s3rver accepts (it does not check signatures)
          "cloud_storage_access_key=S3RVER", "cloud_storage_secret_key=S3RVER", "--wait=15s")
    objects = data / S3_BUCKET

    def in_s3rver(key: str) -> Path:
        return objects / f"{key}._S3rver_object"

    create_tiered(cluster, "t")
    produce(broker, "t")
    before = wait_until(lambda: consume(broker, "t", COUNT), 30, "the records produced")
    location = topic(cluster, "t").remote_location
    wait_until(lambda: all(in_s3rver(f"topics/{location}/{p}/manifest.json").exists()
                           for p in range(PARTITIONS)), 20, "every partition manifest in s3rver")

    storage(cluster, "unmount", "t", "--wait", timeout=60)
    assert topic(cluster, "t") is None
    assert mountable(cluster) == [{"topic": "t", "namespace": "kafka",
                                   "topic_location": location}]
    mf = json.loads(in_s3rver(f"mountable/{location}/topic_manifest.json").read_text())
    assert mf["next_offsets"] == ends(before, PARTITIONS)
    # Every record went to s3rver: the sealed manifests name segments ending
    # where the partitions ended, and each segment object is there.
    for p in range(PARTITIONS):
        m = json.loads(in_s3rver(f"topics/{location}/{p}/manifest.json").read_text())
        assert m["final"]["next_offset"] == ends(before, PARTITIONS)[p]
        for s in m["segments"]:
            assert in_s3rver(f"topics/{location}/{p}/{s['name']}").stat().st_size == s["size"]

    storage(cluster, "mount", "t", "--wait", timeout=60)
    assert not in_s3rver(f"mountable/{location}/topic_manifest.json").exists()
    assert mountable(cluster) == []
    t = topic(cluster, "t")
    assert [pa.start_offset for pa in t.partitions] == ends(before, PARTITIONS)
    wait_served(broker, "t", PARTITIONS)
    wait_until(lambda: consume(broker, "t", COUNT) == before, 60,
               "every record at its original offset, read from s3rver")
    with urllib.request.urlopen(f"http://127.0.0.1:{broker.metrics_port}/metrics",
                                timeout=5) as r:
        samples = parse_metrics(r.read().decode())
    assert metric(samples, "fjord_broker_tiered_downloads_total") >= PARTITIONS - 1
    assert metric(samples, "fjord_broker_tiered_corrupt_downloads_total") == 0
