"""`fjord topic produce` and `fjord topic consume` against a real broker:
rpk's main flags (input and output formats, keys, headers, partitions,
offsets, -n), JSON output, errors for unknown topics, and librdkafka loaded
only by these commands.

Every process is started by the fixtures on loopback and stopped by pid.
"""

from __future__ import annotations

import json
import subprocess

from conftest import BUILD_DIR, Broker, Cluster, fjord

FJORD = BUILD_DIR / "bin" / "fjord"


def records(cluster: Cluster, broker: Broker, *args: str, stdin: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
    controllers = ",".join(m.api for m in cluster.members.values())
    p = subprocess.run([str(FJORD), "-X", f"controllers={controllers}", "-X",
                        f"brokers={broker.bootstrap}", *args], input=stdin, capture_output=True,
                       text=True, timeout=60, env={"HOME": "/nonexistent", "PATH": "/usr/bin:/bin"})
    if check:
        assert p.returncode == 0, f"fjord {' '.join(args)}: {p.stdout}\n{p.stderr}"
    return p


def test_produce_and_consume_with_formats_keys_and_partitions(cluster: Cluster, broker: Broker):
    fjord(cluster, "topic", "create", "rec", "-p", "3", "--wait=15s")
    lines = "".join(f"k{i}:value {i}\n" for i in range(12))
    p = records(cluster, broker, "topic", "produce", "rec", "-f", "%k:%v\\n", stdin=lines)
    acks = [ln for ln in p.stdout.splitlines() if ln.startswith("Produced to partition ")]
    assert len(acks) == 12, p.stdout
    c = records(cluster, broker, "topic", "consume", "rec", "-o", ":end", "-f", "%p %o %k=%v\\n")
    got = [ln.split(" ", 2) for ln in c.stdout.splitlines()]
    assert sorted(x[2] for x in got) == sorted(f"k{i}=value {i}" for i in range(12))
    per_partition: dict[str, list[int]] = {}
    for part, off, _ in got:
        per_partition.setdefault(part, []).append(int(off))
    for offs in per_partition.values():
        assert offs == list(range(len(offs)))

    # One partition, the last two records of it, JSON lines with --format json.
    records(cluster, broker, "topic", "produce", "rec", "-p", "1", "-k", "fixed", "-H", "h1:v1",
            "-H", "h2:v2", stdin="a\nb\nc\n")
    c = records(cluster, broker, "--format", "json", "topic", "consume", "rec", "-p", "1", "-o",
                "-2:end")
    got = [json.loads(ln) for ln in c.stdout.splitlines()]
    assert [r["value"] for r in got] == ["b", "c"]
    assert all(r["key"] == "fixed" and r["partition"] == 1 and r["topic"] == "rec" for r in got)
    assert got[0]["headers"] == [{"key": "h1", "value": "v1"}, {"key": "h2", "value": "v2"}]
    assert got[1]["offset"] == got[0]["offset"] + 1

    # -n stops after N records; the default JSON is pretty-printed.
    c = records(cluster, broker, "topic", "consume", "rec", "-n", "2")
    assert c.stdout.count('"topic": "rec"') == 2
    assert c.stdout.startswith("{\n")


def test_produce_json_output_and_tombstones(cluster: Cluster, broker: Broker):
    fjord(cluster, "topic", "create", "tomb", "-p", "1", "--wait=15s")
    p = records(cluster, broker, "--format", "json", "topic", "produce", "tomb", "-Z",
                "-f", "%k %v\\n", stdin="a 1\nb \n")
    out = [json.loads(ln) for ln in p.stdout.splitlines()]
    assert [(r["partition"], r["offset"]) for r in out] == [(0, 0), (0, 1)]
    c = records(cluster, broker, "--format", "json", "topic", "consume", "tomb", "-o", ":end")
    got = [json.loads(ln) for ln in c.stdout.splitlines()]
    assert got[0]["value"] == "1"
    assert "value" not in got[1], "an empty value with -Z is a null value (tombstone)"


def test_unknown_topics_and_bad_flags_fail_clearly(cluster: Cluster, broker: Broker):
    c = records(cluster, broker, "topic", "consume", "nope", "-o", ":end", check=False)
    assert c.returncode == 1
    assert "nope" in c.stderr and "Unknown topic or partition" in c.stderr, c.stderr
    p = records(cluster, broker, "topic", "produce", "nope", "--delivery-timeout", "2s",
                stdin="x\n", check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "not produced" in p.stderr
    for args in (["topic", "consume", "t", "-o", "sideways"],
                 ["topic", "produce", "t", "--acks", "2"],
                 ["topic", "produce", "t", "-f", "%q"],
                 ["topic", "produce"],
                 ["topic", "produce", "t", "-H", "novalue"]):
        r = records(cluster, broker, *args, stdin="", check=False)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.startswith("fjord: "), (args, r.stderr)


def test_librdkafka_is_loaded_only_by_the_record_commands():
    ldd = subprocess.run(["ldd", str(FJORD)], capture_output=True, text=True, check=True)
    assert "rdkafka" not in ldd.stdout


def test_ctrl_c_ends_an_interactive_produce(cluster: Cluster, broker: Broker):
    """A produce reading a terminal-like stdin stops at SIGINT at once,
    after producing what it read."""
    import signal
    import time
    fjord(cluster, "topic", "create", "typed", "-p", "1", "--wait=15s")
    controllers = ",".join(m.api for m in cluster.members.values())
    p = subprocess.Popen([str(FJORD), "-X", f"controllers={controllers}", "-X",
                          f"brokers={broker.bootstrap}", "topic", "produce", "typed"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env={"HOME": "/nonexistent", "PATH": "/usr/bin:/bin"})
    try:
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write("typed line\n")
        p.stdin.flush()
        assert p.stdout.readline().startswith("Produced to partition 0 at offset 0")
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        p.wait(timeout=10)
        assert time.monotonic() - t0 < 5
        assert p.returncode == 0, p.stderr.read() if p.stderr else ""
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
