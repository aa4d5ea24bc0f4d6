"""Shadow links end to end (issue 17, docs/shadow-links.md): two real dev
clusters on loopback, `fjord dev start --name src` (the source: 1 controller,
1 broker) and `--name dst` (the shadow: 3 controllers, 1 broker), driven by
`fjord shadow ...` and by Kafka clients nobody here wrote (kafka-python, and
librdkafka through rdkafka_client and `fjord topic produce|consume`).

The clusters are shared by the module (starting them is most of its cost);
the one link (one per cluster) is created by the `link` fixture after the
tests that must see no link at all, with 1 s task intervals. Tests use their
own topics (sh-<test>-...), which the link's filters include; sh-private-*
are excluded. Order matters where it says so: bad configs first (nothing may
exist yet), the source outage and the SIGKILLs last.

Records are compared two ways per partition: the raw record batches from a
hand-made Fetch v4 to each cluster's broker (byte for byte, except the
4-byte partition leader epoch that every leader stamps and no CRC covers),
and record by record (offset, timestamp, key, value, headers) through a
consumer.

Every process is a dev cluster's; the fixture purges both clusters at the
end, pass or fail, and SIGKILLs by recorded pid (after checking
/proc/PID/cmdline names its config) anything that survives.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Optional

import pytest

from conftest import BUILD_DIR, RDKAFKA_CLIENT, wait_until as _wait_until

FJORD = BUILD_DIR / "bin" / "fjord"
INTERVAL = "1s"
REPLICATION_TIMEOUT = 60


def wait_until(pred: Callable[[], object], timeout: float, what: str):
    """conftest's, polling every 0.3 s: most predicates here run a fjord
    process or open a Kafka connection."""
    return _wait_until(pred, timeout, what, interval=0.3)


# --------------------------------------------------------------------------
# Two dev clusters.


def _is_process(pid: int, config: Path, kind: str) -> bool:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat[stat.rindex(")") + 2] in "ZX":
            return False
    except (OSError, ValueError, IndexError):
        return False
    return bool(args) and Path(args[0].decode()).name == f"fjord-{kind}" and \
        str(config).encode() in args


class Dev:
    """The fjord CLI with a private HOME, XDG directories and profile file,
    and the named dev clusters started through it."""

    def __init__(self, home: Path):
        self.home = home
        self.state_home = home / "state"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("FJORD_", "XDG_"))}
        self.env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
                        XDG_STATE_HOME=str(self.state_home))
        home.mkdir(parents=True, exist_ok=True)

    def run(self, *args: str, stdin: Optional[str] = None, timeout: float = 90,
            env: Optional[dict] = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(FJORD), *args], input=stdin, capture_output=True, text=True,
                              env=dict(self.env, **(env or {})), timeout=timeout,
                              stdin=None if stdin is not None else subprocess.DEVNULL)

    def ok(self, *args: str, **kw) -> subprocess.CompletedProcess:
        p = self.run(*args, **kw)
        assert p.returncode == 0, f"fjord {' '.join(args)}: rc {p.returncode}\n{p.stdout}\n{p.stderr}"
        return p

    def json(self, *args: str, **kw):
        return json.loads(self.ok(*args, "--format", "json", **kw).stdout)

    def state(self, name: str) -> Path:
        return self.state_home / "fjord" / f"dev-{name}"

    def live(self, name: str, kind: str) -> dict[int, int]:
        out = {}
        for pid_file in self.state(name).glob(f"{kind}-*/pid"):
            try:
                i, pid = int(pid_file.parent.name.split("-")[1]), int(pid_file.read_text())
            except (ValueError, OSError):
                continue
            if _is_process(pid, pid_file.parent / f"{kind}.yaml", kind):
                out[i] = pid
        return out

    def purge(self, name: str) -> None:
        if not self.state(name).exists():
            return
        try:
            self.run("dev", "purge", "--name", name, "--timeout", "15s", timeout=60)
        except subprocess.TimeoutExpired:
            pass
        for kind in ("broker", "controller"):
            for pid in self.live(name, kind).values():
                os.kill(pid, signal.SIGKILL)


class Clusters:
    def __init__(self, dev: Dev):
        self.dev = dev
        self.src = ""  # bootstrap servers, filled by start
        self.dst = ""

    def start(self) -> None:
        for name, nodes in (("src", "1"), ("dst", "3")):
            p = self.dev.run("dev", "start", "--name", name, "-n", nodes, "--timeout", "90s",
                             timeout=150)
            assert p.returncode == 0, f"dev start --name {name}:\n{p.stdout}\n{p.stderr}"
        self.src = self.status("src")["bootstrap_servers"]
        self.dst = self.status("dst")["bootstrap_servers"]

    def status(self, name: str) -> dict:
        p = self.dev.run("dev", "status", "--name", name, "--format", "json")
        return json.loads(p.stdout)

    def on(self, cluster: str, *args: str, **kw) -> subprocess.CompletedProcess:
        """fjord --profile CLUSTER ARGS, which must succeed."""
        return self.dev.ok("--profile", cluster, "-X", "globals.retry_timeout=10s", *args, **kw)

    def try_on(self, cluster: str, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.dev.run("--profile", cluster, "-X", "globals.retry_timeout=5s", *args, **kw)

    def shadow_status(self, link: str = "dr") -> dict:
        return json.loads(self.on("dst", "--format", "json", "shadow", "status", link).stdout)

    def json_topics(self, cluster: str) -> list[dict]:
        return json.loads(self.on(cluster, "--format", "json", "topic", "list").stdout)

    def create_topic(self, name: str, partitions: int) -> None:
        """On the source, waiting until its broker serves it."""
        self.on("src", "topic", "create", name, "-p", str(partitions), "--wait")


@pytest.fixture(scope="module")
def clusters(tmp_path_factory):
    for b in (FJORD, BUILD_DIR / "bin" / "fjord-controller", BUILD_DIR / "bin" / "fjord-broker",
              RDKAFKA_CLIENT):
        if not b.is_file():
            pytest.fail(f"{b} not found: build it (ninja -C {BUILD_DIR})", pytrace=False)
    dev = Dev(tmp_path_factory.mktemp("shadow-home"))
    c = Clusters(dev)
    try:
        c.start()
        yield c
    finally:
        for name in ("dst", "src"):
            dev.purge(name)


def link_yaml(src: str, name: str = "dr", extra: str = "") -> str:
    return f"""name: {name}
client_options:
  bootstrap_servers: [{src}]
  metadata_max_age_ms: 1000
  fetch_wait_max_ms: 100
topic_metadata_sync_options:
  interval: {INTERVAL}
  auto_create_shadow_topic_filters:
    - {{pattern_type: PREFIX, filter_type: INCLUDE, name: sh-}}
    - {{pattern_type: PREFIX, filter_type: EXCLUDE, name: sh-private}}
  start_at_earliest: {{}}
consumer_offset_sync_options:
  interval: {INTERVAL}
  group_filters:
    - {{pattern_type: PREFIX, filter_type: INCLUDE, name: g-}}
security_sync_options:
  interval: {INTERVAL}
  acl_filters:
    - resource_filter: {{resource_type: ANY, pattern_type: ANY}}
      access_filter: {{principal: "User:alice", operation: ANY, permission_type: ANY}}
{extra}"""


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


@pytest.fixture(scope="module")
def link(clusters: Clusters, tmp_path_factory) -> str:
    f = write(tmp_path_factory.mktemp("link"), "dr.yaml", link_yaml(clusters.src))
    p = clusters.on("dst", "shadow", "create", "-c", str(f), "--no-confirm")
    assert 'Successfully created shadow link "dr" with ID "' in p.stdout, p.stdout
    assert "To query the status, run: 'fjord shadow status dr'" in p.stdout
    return "dr"


# --------------------------------------------------------------------------
# Kafka: a hand-made Fetch v4 for raw batches, and consumers for records.


def _string(s: str) -> bytes:
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def _recv(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return out


def fetch_raw(bootstrap: str, topic: str, partition: int, offset: int) -> tuple[int, bytes]:
    """One Fetch v4 (read_committed=0) from `offset`: (high watermark, the
    records bytes)."""
    host, port = bootstrap.rsplit(":", 1)
    body = struct.pack(">iiiib", -1, 100, 1, 32 << 20, 0)
    body += struct.pack(">i", 1) + _string(topic)
    body += struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, 16 << 20)
    msg = struct.pack(">hhi", 1, 4, 1) + _string("shadow-e2e") + body
    with socket.create_connection((host, int(port)), timeout=15) as s:
        s.sendall(struct.pack(">i", len(msg)) + msg)
        size = struct.unpack(">i", _recv(s, 4))[0]
        r = _recv(s, size)
    pos = 4 + 4  # correlation id, throttle time
    assert struct.unpack(">i", r[pos:pos + 4])[0] == 1
    pos += 4
    tlen = struct.unpack(">h", r[pos:pos + 2])[0]
    pos += 2 + tlen
    assert struct.unpack(">i", r[pos:pos + 4])[0] == 1
    pos += 4
    _, err, hwm, _lso = struct.unpack(">ihqq", r[pos:pos + 22])
    pos += 22
    assert err == 0, f"fetch {topic}/{partition} at {offset} from {bootstrap}: error {err}"
    n_aborted = struct.unpack(">i", r[pos:pos + 4])[0]
    pos += 4 + max(n_aborted, 0) * 16
    rlen = struct.unpack(">i", r[pos:pos + 4])[0]
    pos += 4
    return hwm, (r[pos:pos + rlen] if rlen > 0 else b"")


def batches(bootstrap: str, topic: str, partition: int) -> list[tuple[int, bytes]]:
    """Every record batch of a partition, from its start to its high
    watermark, as (base offset, bytes with the partition leader epoch
    zeroed). A trailing partial batch (the fetch size cut it) is fetched
    again from its base offset."""
    out: list[tuple[int, bytes]] = []
    offset = 0
    while True:
        hwm, data = fetch_raw(bootstrap, topic, partition, offset)
        if offset >= hwm:
            return out
        pos = 0
        progressed = False
        while pos + 12 <= len(data):
            base, length = struct.unpack(">qi", data[pos:pos + 12])
            if pos + 12 + length > len(data):
                break  # partial
            raw = bytearray(data[pos:pos + 12 + length])
            raw[12:16] = b"\0\0\0\0"  # partitionLeaderEpoch: the appending leader's
            last_delta = struct.unpack(">i", raw[23:27])[0]
            if base + last_delta >= offset:
                out.append((base, bytes(raw)))
                offset = base + last_delta + 1
                progressed = True
            pos += 12 + length
        assert progressed, f"no progress fetching {topic}/{partition} at {offset} (hwm {hwm})"


def high_watermarks(bootstrap: str, topic: str, partitions: int) -> list[int]:
    """Each partition's high watermark from one ListOffsets v1 (latest); -1
    for a partition not served (yet)."""
    host, port = bootstrap.rsplit(":", 1)
    body = struct.pack(">i", -1) + struct.pack(">i", 1) + _string(topic)
    body += struct.pack(">i", partitions)
    for p in range(partitions):
        body += struct.pack(">iq", p, -1)
    msg = struct.pack(">hhi", 2, 1, 7) + _string("shadow-hwm") + body
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(struct.pack(">i", len(msg)) + msg)
        size = struct.unpack(">i", _recv(s, 4))[0]
        r = _recv(s, size)
    pos = 4
    out = {p: -1 for p in range(partitions)}
    for _ in range(struct.unpack(">i", r[pos:pos + 4])[0]):
        pos += 4
        pos += 2 + struct.unpack(">h", r[pos:pos + 2])[0]
        n = struct.unpack(">i", r[pos:pos + 4])[0]
        pos += 4
        for _ in range(n):
            p, err, _ts, off = struct.unpack(">ihqq", r[pos:pos + 22])
            pos += 22
            if err == 0:
                out[p] = off
    return [out[p] for p in range(partitions)]


def records_via_cli(c: Clusters, cluster: str, topic: str) -> list[dict]:
    """`fjord topic consume T -o :end` (librdkafka): every record, with key,
    value, headers and timestamp, sorted by (partition, offset)."""
    p = c.on(cluster, "--format", "json", "topic", "consume", topic, "-o", ":end", timeout=120)
    rs = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    return sorted(rs, key=lambda r: (r["partition"], r["offset"]))


def records_via_kafka_python(bootstrap: str, topic: str, partitions: int) -> list[tuple]:
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=3000)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    ends = consumer.end_offsets(tps)
    out = []
    try:
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for tp, rs in consumer.poll(timeout_ms=2000).items():
                out += [(tp.partition, r.offset, r.timestamp, r.timestamp_type, r.key, r.value,
                         tuple(r.headers)) for r in rs]
    finally:
        consumer.close()
    return sorted(out)


def shadow_hwms(c: Clusters, topic: str, partitions: int) -> Optional[list[int]]:
    """The shadow's high watermarks, or None while the topic is not served
    there (not created yet, or its broker restarting)."""
    try:
        hwms = high_watermarks(c.dst, topic, partitions)
    except (OSError, struct.error):
        return None
    return None if -1 in hwms else hwms


def wait_replicated(c: Clusters, topic: str, partitions: int,
                    timeout: float = REPLICATION_TIMEOUT) -> list[int]:
    """Until the shadow topic exists with the source's partitions and every
    shadow partition's high watermark equals the source's."""
    def caught_up():
        src = high_watermarks(c.src, topic, partitions)
        return src if shadow_hwms(c, topic, partitions) == src else None
    return wait_until(caught_up, timeout, f"{topic} replicated")


def assert_identical(c: Clusters, topic: str, partitions: int) -> None:
    for p in range(partitions):
        a = batches(c.src, topic, p)
        b = batches(c.dst, topic, p)
        assert [x[0] for x in a] == [x[0] for x in b], f"{topic}/{p}: batch offsets differ"
        for (off, x), (_, y) in zip(a, b):
            assert x == y, f"{topic}/{p}: the batch at offset {off} differs"


def rdkafka_produce(bootstrap: str, topic: str, count: int, *sets: str, idempotent=False,
                    size: int = 100) -> dict:
    args = [str(RDKAFKA_CLIENT), "produce", "--bootstrap", bootstrap, "--topic", topic,
            "--count", str(count), "--size", str(size)]
    if idempotent:
        args.append("--idempotent")
    for s in sets:
        args += ["--set", s]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"rdkafka_client produce: {p.stdout}\n{p.stderr}"
    return json.loads(p.stdout.splitlines()[-1])


def topic_state(c: Clusters, topic: str) -> Optional[str]:
    for t in c.shadow_status()["topics"]:
        if t["name"] == topic:
            return t["state"]
    return None


# --------------------------------------------------------------------------
# Before any link exists: refusals, and nothing created.


def test_bad_configs_are_refused_naming_the_field(clusters: Clusters, tmp_path: Path):
    src = clusters.src
    base = link_yaml(src)
    cases = [
        (base.replace("interval: 1s", "intervall: 1s", 1),
         "topic_metadata_sync_options.intervall: unknown key"),
        (base.replace("  metadata_max_age_ms: 1000\n",
                      "  tls_settings:\n    tls_file_settings: {ca_path: /x}\n"
                      "    tls_pem_settings: {ca: y}\n"),
         "client_options.tls_settings.tls_pem_settings: tls_file_settings and tls_pem_settings"),
        (base.replace("  metadata_max_age_ms: 1000\n",
                      "  authentication_configuration:\n"
                      "    scram_configuration: {username: u, password: p, "
                      "scram_mechanism: SCRAM-SHA-256}\n"
                      "    plain_configuration: {username: u, password: p}\n"),
         "client_options.authentication_configuration.plain_configuration"),
        (base.replace("name: sh-}", "name: \"\"}"),
         "topic_metadata_sync_options.auto_create_shadow_topic_filters[0].name"),
        (base.replace("{pattern_type: PREFIX, filter_type: INCLUDE, name: sh-}",
                      "{pattern_type: PREFIX, filter_type: INCLUDE, name: \"*\"}"),
         "topic_metadata_sync_options.auto_create_shadow_topic_filters[0]"),
        (base.replace("{pattern_type: PREFIX, filter_type: INCLUDE, name: sh-}",
                      "{pattern_type: GLOB, filter_type: INCLUDE, name: sh-}"),
         "auto_create_shadow_topic_filters[0].pattern_type: \"GLOB\" is not one of"),
        (base.replace("  start_at_earliest: {}\n", "  start_at_earliest: {}\n  start_at_latest: {}\n"),
         "topic_metadata_sync_options.start_at_latest"),
        (base.replace(f"[{src}]", "[]"), "client_options.bootstrap_servers"),
        (base.replace("name: dr", "name: \"bad name!\""), "name"),
        (base + "cloud_options: {shadow_redpanda_id: x}\n", "cloud_options: not supported"),
    ]
    for i, (text, needle) in enumerate(cases):
        f = write(tmp_path, f"bad{i}.yaml", text)
        p = clusters.try_on("dst", "shadow", "create", "-c", str(f), "--no-confirm")
        assert p.returncode == 1, (needle, p.returncode, p.stdout, p.stderr)
        assert needle in p.stderr, (needle, p.stderr)
        assert str(f) in p.stderr  # the file is named too
    # Without --no-confirm and no terminal: a usage error, nothing sent.
    good = write(tmp_path, "good.yaml", base)
    p = clusters.try_on("dst", "shadow", "create", "-c", str(good))
    assert p.returncode == 2 and "--no-confirm" in p.stderr
    assert not [t for t in clusters.json_topics("dst") if t["name"].startswith("sh-")]
    assert json.loads(clusters.on("dst", "--format", "json", "shadow", "list").stdout) == []


def test_unreachable_source_is_refused_at_create(clusters: Clusters, tmp_path: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"
    f = write(tmp_path, "unreachable.yaml", link_yaml(closed, name="nowhere"))
    p = clusters.try_on("dst", "shadow", "create", "-c", str(f), "--no-confirm", timeout=120)
    assert p.returncode == 1, p.stdout
    assert closed in p.stderr or "unreachable" in p.stderr.lower(), p.stderr
    assert json.loads(clusters.on("dst", "--format", "json", "shadow", "list").stdout) == []
    p = clusters.try_on("dst", "shadow", "describe", "nowhere")
    assert p.returncode == 1
    assert ('shadow link "nowhere" not found; to get all active shadow links run '
            "'fjord shadow list'") in p.stderr


# --------------------------------------------------------------------------
# Replication.


def test_records_byte_for_byte_filters_and_partition_increase(clusters: Clusters, link: str):
    from kafka import KafkaProducer
    c = clusters
    # kafka-python: plain and gzip, keys, headers, explicit timestamps (recent
    # ones: records older than retention.ms would be deleted by retention).
    stamp = int(time.time() * 1000) - 60_000
    for topic, codec in (("sh-rep-plain", None), ("sh-rep-gzip", "gzip")):
        c.create_topic(topic, 3)
        prod = KafkaProducer(bootstrap_servers=c.src, acks="all", linger_ms=20,
                             compression_type=codec)
        for i in range(300):
            prod.send(topic, key=f"k{i % 17}".encode(), value=f"value {i}".encode() * (i % 5 + 1),
                      headers=[("h", f"{i}".encode()), ("dup", b"x"), ("dup", b"y")],
                      partition=i % 3, timestamp_ms=stamp + i * 7)
        prod.send(topic, key=b"tomb", value=None, partition=0)  # a tombstone
        prod.flush()
        prod.close()
    # librdkafka: idempotent, and every other codec.
    c.create_topic("sh-rep-idem", 2)
    rdkafka_produce(c.src, "sh-rep-idem", 2000, idempotent=True)
    for codec in ("snappy", "lz4", "zstd"):
        c.create_topic(f"sh-rep-{codec}", 2)
        rdkafka_produce(c.src, f"sh-rep-{codec}", 1500, f"compression.type={codec}",
                        "linger.ms=20", idempotent=True)
    # Excluded by the filters: sh-private-* (EXCLUDE wins) and other-* (no INCLUDE).
    c.create_topic("sh-private-x", 1)
    c.create_topic("other-x", 1)
    c.on("src", "topic", "produce", "sh-private-x", stdin="secret\n")

    for topic, parts in (("sh-rep-plain", 3), ("sh-rep-gzip", 3), ("sh-rep-idem", 2),
                         ("sh-rep-snappy", 2), ("sh-rep-lz4", 2), ("sh-rep-zstd", 2)):
        wait_replicated(c, topic, parts)
        assert_identical(c, topic, parts)
        assert records_via_cli(c, "src", topic) == records_via_cli(c, "dst", topic), topic
    for topic in ("sh-rep-plain", "sh-rep-gzip"):
        assert records_via_kafka_python(c.src, topic, 3) == \
            records_via_kafka_python(c.dst, topic, 3), topic

    names = {t["name"] for t in c.json_topics("dst")}
    assert "sh-private-x" not in names and "other-x" not in names
    st = c.shadow_status(link)
    assert {"sh-rep-plain", "sh-rep-idem"} <= {t["name"] for t in st["topics"]}
    row = next(t for t in st["topics"] if t["name"] == "sh-rep-plain")
    assert row["state"] == "ACTIVE" and len(row["partitions"]) == 3
    text = c.on("dst", "shadow", "status", link, "-t").stdout
    assert "Name: sh-rep-plain, ID: " in text
    assert "PARTITION  SRC_LSO  SRC_HWM  DST_HWM  LAG" in text

    # A topic created on the source later appears; a partition increase follows.
    c.create_topic("sh-rep-late", 1)
    c.on("src", "topic", "produce", "sh-rep-late", stdin="a\nb\nc\n")
    wait_replicated(c, "sh-rep-late", 1)
    c.on("src", "topic", "add-partitions", "sh-rep-late", "-n", "2")
    c.on("src", "topic", "produce", "sh-rep-late", "-p", "2", stdin="on the new partition\n")
    wait_until(lambda: next((t for t in c.json_topics("dst") if t["name"] == "sh-rep-late"),
                            {}).get("partitions") == 3, REPLICATION_TIMEOUT,
               "sh-rep-late has 3 partitions on the shadow")
    wait_replicated(c, "sh-rep-late", 3)
    assert_identical(c, "sh-rep-late", 3)
    assert "sh-private-x" not in {t["name"] for t in c.json_topics("dst")}


def test_describe_list_and_update(clusters: Clusters, link: str, tmp_path: Path):
    c = clusters
    rows = json.loads(c.on("dst", "--format", "json", "shadow", "list").stdout)
    assert [(r["name"], r["state"]) for r in rows] == [(link, "ACTIVE")] and rows[0]["UID"]
    assert c.on("dst", "shadow", "list").stdout.splitlines()[0].split() == ["NAME", "UID", "STATE"]
    text = c.on("dst", "shadow", "describe", link).stdout
    assert "OVERVIEW" in text and "CLIENT" in text and c.src in text
    assert "TOPIC METADATA SYNC" not in text
    assert "TOPIC METADATA SYNC" in c.on("dst", "shadow", "describe", link, "-a").stdout
    doc = json.loads(c.on("dst", "--format", "json", "shadow", "describe", link).stdout)
    assert doc["uid"] == rows[0]["UID"]
    assert doc["topic_metadata_sync_options"]["interval"] == INTERVAL

    # From a file: the same config is "No changes detected"; a change is sent
    # with its field mask; the name cannot change.
    same = write(tmp_path, "same.yaml", link_yaml(c.src))
    assert c.on("dst", "shadow", "update", link, "-c", str(same)).stdout == "No changes detected\n"
    changed = write(tmp_path, "changed.yaml",
                    link_yaml(c.src).replace("metadata_max_age_ms: 1000", "metadata_max_age_ms: 2000"))
    out = json.loads(c.on("dst", "--format", "json", "shadow", "update", link, "-c",
                          str(changed)).stdout)
    assert out["changed"] == ["configurations.client_options.metadata_max_age_ms"]
    doc = json.loads(c.on("dst", "--format", "json", "shadow", "describe", link).stdout)
    assert doc["client_options"]["metadata_max_age_ms"] == 2000
    renamed = write(tmp_path, "renamed.yaml", link_yaml(c.src, name="other"))
    p = c.try_on("dst", "shadow", "update", link, "-c", str(renamed))
    assert p.returncode == 1 and "shadow link name cannot be changed" in p.stderr

    # The $EDITOR flow, with an editor that is a script.
    editor = write(tmp_path, "editor.sh",
                   "#!/bin/sh\nsed -i 's/metadata_max_age_ms: 2000/metadata_max_age_ms: 1000/' \"$1\"\n")
    editor.chmod(0o755)
    out = json.loads(c.on("dst", "--format", "json", "shadow", "update", link,
                          env={"EDITOR": str(editor)}).stdout)
    assert out["changed"] == ["configurations.client_options.metadata_max_age_ms"]
    noop = write(tmp_path, "noop.sh", "#!/bin/sh\ntrue\n")
    noop.chmod(0o755)
    assert "No changes detected" in c.on("dst", "shadow", "update", link,
                                         env={"EDITOR": str(noop)}).stdout


def test_group_offsets_sync_clamped_and_resume_after_failover(clusters: Clusters, link: str):
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.errors import KafkaError
    from kafka.structs import OffsetAndMetadata
    c = clusters
    topic, group = "sh-grp", "g-resume"
    c.create_topic(topic, 2)
    prod = KafkaProducer(bootstrap_servers=c.src, acks="all")
    for i in range(200):
        prod.send(topic, value=f"r{i}".encode(), partition=i % 2)
    prod.flush()
    prod.close()
    wait_replicated(c, topic, 2)

    # The group commits on the source: partition 0 mid-way, partition 1 far
    # beyond the end (Kafka accepts that), which the shadow clamps to its HWM.
    consumer = KafkaConsumer(bootstrap_servers=c.src, group_id=group, enable_auto_commit=False)
    consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(60, None),
                     TopicPartition(topic, 1): OffsetAndMetadata(100_000, None)})
    consumer.close()

    seen: dict = {}

    def synced():
        admin = KafkaAdminClient(bootstrap_servers=c.dst)
        try:
            got = admin.list_consumer_group_offsets(group)
        except KafkaError as e:
            seen["last"] = repr(e)
            return None
        finally:
            admin.close()
        offs = {tp.partition: om.offset for tp, om in got.items() if tp.topic == topic}
        seen["last"] = offs
        return offs if offs == {0: 60, 1: 100} else None
    try:
        wait_until(synced, REPLICATION_TIMEOUT, "group offsets synced to the shadow (clamped)")
    except AssertionError as e:
        raise AssertionError(f"{e}; the shadow's offsets last: {seen.get('last')}; "
                             f"status: {c.shadow_status(link)['tasks']}") from None

    # Read-only while active: produce is refused with POLICY_VIOLATION.
    prod = KafkaProducer(bootstrap_servers=c.dst, acks="all", retries=0)
    with pytest.raises(KafkaError) as refused:
        prod.send(topic, value=b"too early", partition=0).get(timeout=20)
    assert "PolicyViolation" in type(refused.value).__name__, refused.value

    p = c.try_on("dst", "shadow", "failover", link)
    assert p.returncode == 2 and "either --all or --topic must be provided" in p.stderr
    p = c.on("dst", "shadow", "failover", link, "--topic", topic, "--no-confirm")
    assert f'Successfully initiated the Fail Over for Shadow Link "{link}"' in p.stdout
    wait_until(lambda: topic_state(c, topic) == "FAILED_OVER", REPLICATION_TIMEOUT,
               f"{topic} FAILED_OVER")

    # The group resumes on the shadow where it left off: nothing skipped.
    consumer = KafkaConsumer(topic, bootstrap_servers=c.dst, group_id=group,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             consumer_timeout_ms=5000)
    seen: dict[int, list[int]] = {0: [], 1: []}
    deadline = time.monotonic() + 30
    while len(seen[0]) < 40 and time.monotonic() < deadline:
        for tp, rs in consumer.poll(timeout_ms=1000).items():
            seen[tp.partition] += [r.offset for r in rs]
    consumer.close()
    assert seen[0] == list(range(60, 100)), seen[0][:5]
    assert seen[1] == []  # clamped to the end: nothing left to read

    # Writable now, at the next offset.
    md = prod.send(topic, value=b"after failover", partition=0).get(timeout=20)
    assert md.offset == 100
    prod.close()
    # Idempotent producers too: the source's producer ids and sequences the
    # copies brought were dropped at failover (partition_log end_copies).
    out = rdkafka_produce(c.dst, topic, 50, idempotent=True)
    assert out, out
    # The other topics of the link still replicate.
    assert topic_state(c, "sh-rep-plain") in (None, "ACTIVE")


def test_acl_sync_copies_the_filtered_bindings(clusters: Clusters, link: str):
    c = clusters
    for who in ("alice", "bob"):
        c.on("src", "security", "acl", "create", "--allow-principal", f"User:{who}",
             "--operation", "read", "--topic", "sh-acl")

    def principals():
        doc = json.loads(c.on("dst", "--format", "json", "security", "acl", "list").stdout)
        return {b["principal"] for b in doc["matches"] if b["resource_name"] == "sh-acl"}
    wait_until(lambda: "User:alice" in principals(), REPLICATION_TIMEOUT, "alice's ACL synced")
    assert "User:bob" not in principals()


# --------------------------------------------------------------------------
# Faults (last: they stop and kill processes of the shared clusters).


def test_source_outage_shows_link_unavailable_and_recovers(clusters: Clusters, link: str):
    c = clusters
    c.create_topic("sh-outage", 1)
    c.on("src", "topic", "produce", "sh-outage", stdin="before\n")
    wait_replicated(c, "sh-outage", 1)
    c.dev.ok("dev", "stop", "--name", "src")
    try:
        def unavailable():
            tasks = c.shadow_status(link)["tasks"]
            bad = [t for t in tasks if t["state"] == "LINK_UNAVAILABLE"]
            return bad if bad and all(t["reason"] for t in bad) else None
        bad = wait_until(unavailable, 60, "a task LINK_UNAVAILABLE with a reason")
        text = c.on("dst", "shadow", "status", link, "-k").stdout
        assert "LINK_UNAVAILABLE" in text and bad[0]["reason"] in text
    finally:
        c.dev.ok("dev", "start", "--name", "src", "--timeout", "90s", timeout=150)
    wait_until(lambda: all(t["state"] == "ACTIVE" for t in c.shadow_status(link)["tasks"]),
               60, "every task ACTIVE again")
    c.on("src", "topic", "produce", "sh-outage", stdin="after\n")
    wait_replicated(c, "sh-outage", 1)
    assert_identical(c, "sh-outage", 1)


@pytest.mark.timeout(300)
def test_sigkill_shadow_broker_and_controller_leader_during_replication(clusters: Clusters,
                                                                         link: str):
    """A steady stream into the source for ~20 s (`fjord topic produce` fed
    through a paced pipe); meanwhile the shadow's broker is SIGKILLed and
    restarted, then the shadow's controller leader. Afterwards every shadow
    partition holds exactly the source's batches: no duplicate, no gap."""
    c = clusters
    topic, per_tick, ticks = "sh-kill", 100, 400  # 40000 records over >= 20 s
    c.create_topic(topic, 3)
    producer = subprocess.Popen([str(FJORD), "--profile", "src", "topic", "produce", topic],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=c.dev.env)
    feed_error: list[BaseException] = []

    def feed():
        try:
            for t in range(ticks):
                producer.stdin.write(b"".join(b"record %d-%d\n" % (t, i)
                                              for i in range(per_tick)))
                producer.stdin.flush()
                time.sleep(0.05)
            producer.stdin.close()
        except BaseException as e:  # noqa: BLE001
            feed_error.append(e)
    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        wait_until(lambda: sum(shadow_hwms(c, topic, 3) or [0]) > 0, REPLICATION_TIMEOUT,
                   "replication under way")
        [broker_pid] = c.dev.live("dst", "broker").values()
        os.kill(broker_pid, signal.SIGKILL)
        assert feeder.is_alive(), "the source was no longer being written at the broker kill"
        time.sleep(1)
        c.dev.ok("dev", "start", "--name", "dst", "--timeout", "90s", timeout=150)
        leader = c.status("dst")["leader_id"]
        os.kill(c.dev.live("dst", "controller")[leader], signal.SIGKILL)
        assert feeder.is_alive(), "the source was no longer being written at the leader kill"
        time.sleep(1)
        c.dev.ok("dev", "start", "--name", "dst", "--timeout", "90s", timeout=150)
    finally:
        feeder.join(timeout=120)
        err = producer.stderr.read()
        producer.wait(timeout=60)
    assert not feed_error, feed_error
    assert producer.returncode == 0, err
    hwms = wait_replicated(c, topic, 3, timeout=120)
    assert sum(hwms) >= per_tick * ticks
    assert_identical(c, topic, 3)  # the same batches at the same offsets: no duplicate, no gap


def test_delete_force_fails_everything_over(clusters: Clusters, link: str):
    c = clusters
    p = c.try_on("dst", "shadow", "delete", link, "--no-confirm")
    assert p.returncode == 1 and "--force" in p.stderr  # active topics remain
    c.on("dst", "shadow", "delete", link, "--force")
    assert json.loads(c.on("dst", "--format", "json", "shadow", "list").stdout) == []
    from kafka import KafkaProducer
    prod = KafkaProducer(bootstrap_servers=c.dst, acks="all", retries=0)
    md = prod.send("sh-rep-plain", value=b"writable", partition=0).get(timeout=20)
    prod.close()
    assert md.offset == high_watermarks(c.src, "sh-rep-plain", 3)[0]
