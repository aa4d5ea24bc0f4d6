"""The fjord CLI against a real controller group, through the built binary:
topic and cluster commands, their text and JSON output field by field, the
exit-code contract, strict --if-not-exists, and --wait with a test client
acting as a broker (it follows Watch and reports its applied revision in
heartbeats, as fjord-broker will)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import grpc
import pytest

from conftest import BUILD_DIR, Cluster, make_broker, pb, register_broker

FJORD = Path(BUILD_DIR) / "bin" / "fjord"


class Cli:
    def __init__(self, cluster: Cluster, home: Path):
        self.controllers = ",".join(m.api for m in cluster.members.values())
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FJORD_")}
        # A private HOME: no profile of the machine's user leaks in.
        self.env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                        XDG_STATE_HOME=str(home / ".state"))

    def run(self, *args: str, controllers: str | None = None, timeout: float = 60):
        argv = [str(FJORD), "-X", f"controllers={controllers or self.controllers}",
                "-X", "globals.retry_timeout=5s", *args]
        p = subprocess.run(argv, capture_output=True, text=True, env=self.env, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def json(self, *args: str):
        rc, out, err = self.run(*args, "--format", "json")
        return rc, (json.loads(out) if out.strip() else None), err


@pytest.fixture
def cli(cluster: Cluster, tmp_path: Path) -> Cli:
    register_broker(cluster)
    return Cli(cluster, tmp_path / "home")


class FakeBroker:
    """Registers, follows Watch and heartbeats its applied revision. With
    `stall=True` it heartbeats but never applies anything new."""

    def __init__(self, cluster: Cluster, broker_id: int, stall: bool = False):
        self.cluster, self.id, self.stall = cluster, broker_id, stall
        self.incarnation = f"00000000-0000-4000-8000-{broker_id:012d}"
        self.applied = 0
        self.stop = threading.Event()
        r = cluster.call("RegisterBroker", pb.RegisterBrokerRequest(
            broker=make_broker(broker_id, self.incarnation, 9092 + broker_id)))
        assert r.result.code == pb.OK, r.result
        self.threads = [threading.Thread(target=self._watch, daemon=True),
                        threading.Thread(target=self._heartbeat, daemon=True)]
        for t in self.threads:
            t.start()

    def _watch(self):
        while not self.stop.is_set():
            m = self.cluster.leader() or next(iter(self.cluster.members.values()))
            try:
                for ev in m.stub().Watch(pb.WatchRequest(from_revision=self.applied), timeout=2):
                    if self.stop.is_set():
                        return
                    if self.stall and self.applied:
                        continue
                    rev = ev.snapshot.revision if ev.HasField("snapshot") else ev.delta.revision
                    if ev.revision_complete:
                        self.applied = max(self.applied, rev)
            except grpc.RpcError:
                time.sleep(0.05)

    def _heartbeat(self):
        while not self.stop.is_set():
            try:
                self.cluster.call("Heartbeat", pb.HeartbeatRequest(
                    broker_id=self.id, incarnation=self.incarnation,
                    applied_revision=self.applied), timeout=2, per_call=1)
            except (grpc.RpcError, AssertionError):
                pass
            time.sleep(0.1)

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=5)


@pytest.mark.timeout(90)
def test_topic_create_list_describe_delete(cli: Cli):
    rc, out, err = cli.run("topic", "create", "orders", "-p", "3", "-c", "retention.ms=60000")
    assert rc == 0, err
    assert out.split("\n")[0].split() == ["TOPIC", "STATUS"]
    assert out.split("\n")[1].split() == ["orders", "OK"]

    # A batch with one bad item: every item printed, exit 1.
    rc, doc, err = cli.json("topic", "create", "payments", "bad name!", "orders")
    assert rc == 1
    assert [d["topic"] for d in doc] == ["payments", "bad name!", "orders"]
    assert doc[0]["status"] == "OK" and doc[0]["partitions"] == 1 and doc[0]["replicas"] == 1
    assert doc[1]["status"] == "INVALID_ARGUMENT" and "topics[1].name" in doc[1]["message"]
    assert doc[2]["status"] == "TOPIC_ALREADY_EXISTS"

    # --dry validates only: exit 0, nothing created.
    rc, _, err = cli.run("topic", "create", "dryrun", "--dry")
    assert rc == 0, err
    rc, doc, _ = cli.json("topic", "list")
    assert rc == 0
    assert doc == [{"name": "orders", "partitions": 3, "replicas": 1},
                   {"name": "payments", "partitions": 1, "replicas": 1}]

    rc, doc, _ = cli.json("topic", "list", "-d", "orders")
    assert rc == 0 and len(doc[0]["partition_list"]) == 3
    assert [p["partition"] for p in doc[0]["partition_list"]] == [0, 1, 2]
    assert all(p["leader"] == 1 and p["replicas"] == [1] for p in doc[0]["partition_list"])

    rc, doc, _ = cli.json("topic", "describe", "orders")
    assert rc == 0
    s = doc[0]["summary"]
    assert s["name"] == "orders" and s["partitions"] == 3 and s["replicas"] == 1
    assert len(s["uuid"]) == 36 and s["revision"] > 0 and s["created_by"] == "anonymous"
    assert doc[0]["configs"] == [{"key": "retention.ms", "value": "60000", "source": "topic"}]
    # The partitions' offsets and sizes come from their leader over Kafka;
    # this broker is registered but serves nothing: unknown, with the
    # reason, and describe still answers.
    p0 = doc[0]["partitions"][0]
    assert {"partition", "leader", "epoch", "replicas"} <= p0.keys()
    for key in ("log_start_offset", "local_start_offset", "high_watermark", "local_size_bytes",
                "remote_start_offset", "remote_size_bytes", "remote_lag_offsets"):
        assert key in p0, key
    assert p0["remote_start_offset"] is None and p0["remote_size_bytes"] is None

    rc, doc, _ = cli.json("topic", "delete", "payments", "ghost")
    assert rc == 1
    assert doc[0] == {"topic": "payments", "status": "OK"}
    assert doc[1]["status"] == "UNKNOWN_TOPIC" and "names[1]" in doc[1]["message"]
    rc, doc, _ = cli.json("topic", "delete", "ghost", "--if-exists")
    assert rc == 0 and doc[0]["status"] == "NOT_FOUND_IGNORED"
    rc, _, err = cli.run("topic", "describe", "payments")
    assert rc == 1 and 'topic "payments" does not exist' in err


@pytest.mark.timeout(90)
def test_create_if_not_exists_is_strict(cli: Cli):
    assert cli.run("topic", "create", "t1", "-p", "2", "-c", "retention.ms=1000")[0] == 0
    rc, doc, _ = cli.json("topic", "create", "t1", "-p", "2", "-c", "retention.ms=1000",
                          "--if-not-exists")
    assert rc == 0 and doc[0]["status"] == "EXISTS_UNCHANGED"
    rc, doc, _ = cli.json("topic", "create", "t1", "-p", "4", "-c", "retention.ms=5",
                          "--if-not-exists")
    assert rc == 1 and doc[0]["status"] == "EXISTS_DIFFERENT"
    assert "partitions: exists with 2, asked for 4" in doc[0]["message"]
    assert "config retention.ms: exists with 1000, asked for 5" in doc[0]["message"]
    # -p omitted means the cluster default (1), which differs from 2.
    rc, doc, _ = cli.json("topic", "create", "t1", "-c", "retention.ms=1000", "--if-not-exists")
    assert rc == 1 and "partitions: exists with 2, asked for 1" in doc[0]["message"]


@pytest.mark.timeout(90)
def test_alter_config_and_add_partitions(cli: Cli):
    assert cli.run("topic", "create", "t", "-c", "cleanup.policy=delete")[0] == 0
    rc, _, err = cli.run("topic", "alter-config", "t", "--append", "cleanup.policy=compact",
                         "--set", "retention.ms=1234")
    assert rc == 0, err
    cfg = {c["key"]: c["value"] for c in cli.json("topic", "describe", "t")[1][0]["configs"]}
    assert cfg == {"cleanup.policy": "delete,compact", "retention.ms": "1234"}
    assert cli.run("topic", "alter-config", "t", "--subtract", "cleanup.policy=delete",
                   "--delete", "retention.ms")[0] == 0
    cfg = {c["key"]: c["value"] for c in cli.json("topic", "describe", "t")[1][0]["configs"]}
    assert cfg == {"cleanup.policy": "compact"}
    rc, doc, _ = cli.json("topic", "alter-config", "t", "--set", "retention.ms=abc")
    assert rc == 1 and doc[0]["status"] == "INVALID_CONFIG"
    rc, out, _ = cli.run("topic", "alter-config", "t")
    assert rc == 0 and "No incremental configuration changes were requested!" in out

    assert cli.run("topic", "add-partitions", "t", "-n", "2")[0] == 0
    assert cli.json("topic", "list", "t")[1][0]["partitions"] == 3
    rc, _, err = cli.run("topic", "add-partitions", "t", "-n", "0")
    assert rc == 2 and "-n/--num" in err
    rc, doc, _ = cli.json("topic", "add-partitions", "nope", "-n", "1")
    assert rc == 1 and doc[0]["status"] == "UNKNOWN_TOPIC"


@pytest.mark.timeout(90)
def test_cluster_config_and_info(cli: Cli, tmp_path: Path):
    rc, out, err = cli.run("cluster", "config", "set", "default_topic_partitions", "3")
    assert rc == 0, err
    assert "Successfully updated configuration. New configuration version is" in out
    rc, out, _ = cli.run("cluster", "config", "get", "default_topic_partitions")
    assert rc == 0 and out.strip() == "3"
    rc, _, err = cli.run("cluster", "config", "set", "no_such_key=1")
    assert rc == 1 and "no_such_key" in err and "No changes were made" in err
    rc, _, err = cli.run("cluster", "config", "set", "default_topic_partitions=abc")
    assert rc == 1 and "not an integer" in err
    rc, out, _ = cli.run("cluster", "config", "get", "no_such_key")
    assert rc == 1
    # The same outcomes as documents, for scripts.
    rc, doc, _ = cli.json("cluster", "config", "set", "default_topic_replications=3", "--dry")
    assert rc == 0 and doc["dry"] is True and doc["changed"] is False and doc["errors"] == []
    rc, doc, err = cli.json("cluster", "config", "set", "no_such_key=1", "log_segment_size=x")
    assert rc == 1 and doc["changed"] is False and doc["revision"] == 0
    assert {e["key"] for e in doc["errors"]} == {"no_such_key", "log_segment_size"}
    assert all(e["status"] and e["message"] for e in doc["errors"])
    # Already in place: nothing proposed, and `changed` says so (automation
    # trusts it; rpk answers "updated" either way).
    rc, doc, _ = cli.json("cluster", "config", "set", "default_topic_partitions=3")
    assert rc == 0 and doc["changed"] is False and doc["revision"] == 0 and doc["errors"] == []
    rc, doc, _ = cli.json("cluster", "config", "set", "default_topic_partitions=03")
    assert rc == 0 and doc["changed"] is False, "the canonical value is compared"
    rc, doc, _ = cli.json("cluster", "config", "set", "default_topic_partitions=4")
    assert rc == 0 and doc["changed"] is True and doc["revision"] > 0 and doc["errors"] == []
    rc, doc, _ = cli.json("cluster", "config", "set", "default_topic_partitions=3")
    assert rc == 0 and doc["changed"] is True
    rc, doc, _ = cli.json("cluster", "config", "export")
    assert rc == 0 and doc["default_topic_partitions"] == "3"

    rc, doc, _ = cli.json("cluster", "config", "list", "--filter", "^default_topic|secret_key")
    assert rc == 0
    byk = {d["key"]: d for d in doc}
    # Automation masks what the schema marks secret (the Ansible module's diff).
    assert byk["cloud_storage_secret_key"]["secret"] is True
    assert byk["default_topic_partitions"]["secret"] is False
    assert byk["default_topic_partitions"]["value"] == "3"
    assert byk["default_topic_partitions"]["is_default"] is False
    assert byk["default_topic_replications"]["is_default"] is True
    assert byk["default_topic_partitions"]["type"] == "int"

    # export -> edit -> import resets keys missing from the file.
    f = tmp_path / "cfg.yaml"
    rc, out, _ = cli.run("cluster", "config", "export", "-f", str(f))
    assert rc == 0 and "default_topic_partitions" in f.read_text()
    f.write_text('auto_create_topics_enabled: "true"\n')
    rc, _, err = cli.run("cluster", "config", "import", "-f", str(f))
    assert rc == 0, err
    rc, doc, err = cli.json("cluster", "config", "import", "-f", str(f))
    assert rc == 0 and doc["changed"] is False and doc["revision"] == 0, err
    rc, doc, _ = cli.json("cluster", "config", "list", "--filter",
                          "^(default_topic_partitions|auto_create_topics_enabled)$")
    assert {d["key"]: d["value"] for d in doc} == {"auto_create_topics_enabled": "true",
                                                  "default_topic_partitions": "1"}

    rc, doc, _ = cli.json("cluster", "info")
    assert rc == 0 and len(doc["cluster_uuid"]) == 36 and doc["controller_leader"] > 0
    assert doc["brokers"][0]["id"] == 1 and doc["brokers"][0]["port"] == 9092

    rc, doc, _ = cli.json("controller", "status")
    assert rc == 0 and sum(m["voter"] for m in doc["members"]) == 3
    assert sum(m["leader"] for m in doc["members"]) == 1


@pytest.mark.timeout(90)
def test_wait_success_and_timeout(cluster: Cluster, tmp_path: Path):
    cli = Cli(cluster, tmp_path / "home")
    good = FakeBroker(cluster, 1)
    try:
        t0 = time.monotonic()
        rc, out, err = cli.run("topic", "create", "w", "--wait=10s")
        assert rc == 0, err
        assert time.monotonic() - t0 < 5
        # A live broker that stops applying makes --wait fail, naming it.
        stuck = FakeBroker(cluster, 2, stall=True)
        try:
            time.sleep(0.5)
            rc, out, err = cli.run("topic", "create", "w2", "--wait=1s")
            assert rc == 1
            assert "broker 2" in err and "not applied within 1000 ms" in err
            assert "broker 1" not in err
        finally:
            stuck.close()
    finally:
        good.close()


@pytest.mark.timeout(60)
def test_usage_errors_and_unreachable(cli: Cli):
    for argv, needle in [(("topic", "list", "--bogus"), "--bogus"),
                         (("topic", "create", "x", "-c", "novalue"), "expected key=value"),
                         (("topic", "create", "x", "--wait=soon"), "not a duration"),
                         (("topic", "list", "--format", "xml"), "not supported")]:
        rc, _, err = cli.run(*argv)
        assert rc == 2, (argv, err)
        assert needle in err, (argv, err)
    rc, out, _ = cli.run("topic", "create", "--format", "help", "x")
    assert rc == 0 and '"status"' in out
    # Asking for TLS never falls back to plaintext: against a plaintext
    # controller the handshake fails, and the error says why, at once.
    t0 = time.monotonic()
    rc, out, err = cli.run("topic", "list", "-X", "admin.tls.enabled=true")
    assert rc == 1 and not out and "TLS handshake with" in err and \
        "(the server answered in plaintext: is TLS enabled on that port?)" in err, err
    assert time.monotonic() - t0 < 5
    t0 = time.monotonic()
    rc, _, err = cli.run("topic", "list", controllers="127.0.0.1:1")
    assert rc == 1 and "127.0.0.1:1" in err
    assert time.monotonic() - t0 < 15


@pytest.mark.timeout(120)
def test_controller_members_and_health_via_cli(cluster: Cluster, tmp_path: Path):
    """`fjord controller members add|remove`, `transfer-leadership` and
    `cluster health` against a real group, as an operator would run them."""
    cli = Cli(cluster, tmp_path / "home")
    [joiner] = cluster.add([4], founders=False)
    cluster.start(4)
    rc, out, err = cli.run("controller", "members", "add", "4", "--peer", joiner.peer,
                           "--api", joiner.api)
    assert rc == 0, err
    assert "member 4 added" in out
    rc, doc, _ = cli.json("controller", "status")
    assert rc == 0
    assert {m["id"] for m in doc["members"] if m["voter"]} == {1, 2, 3, 4}

    rc, out, err = cli.run("controller", "transfer-leadership", "--to", "4")
    assert rc == 0, err
    assert "leader is now 4" in out
    rc, doc, _ = cli.json("controller", "status")
    assert doc["leader_id"] == 4

    rc, out, err = cli.run("controller", "members", "remove", "2")
    assert rc == 0, err
    rc, doc, _ = cli.json("controller", "status")
    assert {m["id"] for m in doc["members"] if m["voter"]} == {1, 3, 4}
    rc, _, err = cli.run("controller", "members", "remove", "9")
    assert rc == 1 and "9" in err
    rc, _, err = cli.run("controller", "members", "add", "5", "--peer", "nohost", "--api", "x:1")
    assert rc == 1 and "member.peer_address" in err

    # Health: healthy with a live (heartbeating) broker; unhealthy once it stops.
    broker = FakeBroker(cluster, 7)
    try:
        assert cli.run("topic", "create", "h", "--wait=10s")[0] == 0
        rc, doc, _ = cli.json("cluster", "health")
        assert rc == 0 and doc["healthy"] is True and doc["all_nodes"] == [7]
        assert doc["controller_id"] == 4 and doc["leaderless_partitions"] == 0
    finally:
        broker.close()
