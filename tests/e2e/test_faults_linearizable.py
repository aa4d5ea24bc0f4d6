"""The topic table stays linearizable under partitions, crashes and pauses.

Three controllers, each in its own network namespace (faults.py). Client
threads create, alter, delete and read a few topic names, recording each
operation's invocation and completion times and its outcome: ok, refused
with a code that says something about the state (TOPIC_ALREADY_EXISTS,
UNKNOWN_TOPIC), or unknown (a timeout, an unreachable or changing leader,
"outcome unknown": it may or may not have taken effect). Meanwhile a
nemesis isolates a member (the leader or any) from the others, cuts a single
link, SIGKILLs and restarts a member, or SIGSTOPs and SIGCONTs one. At the
end every fault is healed, each topic is read once more, and the history of
each topic is checked against the model of the table (linearizability.py):
a create succeeds iff the topic is absent, a delete and an alter iff it is
present, a read sees the latest state.

Two clients, each a test:
- `grpc`: the generated Python stubs, one attempt per operation, sent to a
  random member (followers forward to the leader): what the service itself
  guarantees;
- `cli`: `fjord topic create|delete|alter-config|describe`, with the CLI's
  own retries: what an operator's script gets. A retry that is not
  exactly-once (a create answered TOPIC_ALREADY_EXISTS because its own first
  attempt committed) shows up here as a non-linearizable history.

Duration: FJORD_FAULT_SECONDS (default 20 per test); FJORD_FAULT_SEED replays
a nemesis schedule and workload.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import asdict

import grpc
import pytest

from conftest import pb, pb_grpc, register_broker, report, rpc_code, wait_until
from faults import (UNKNOWN_STATUSES, Faults, describe_cluster, fault_seconds,
                    fault_seed, run_fjord, wait_for_leader_or_explain)
from faults import net_cluster_factory, network  # noqa: F401  (fixtures)
from linearizability import (ABSENT, ALTER, CREATE, DELETE, FAIL, OK, READ, UNKNOWN, Op, Present,
                             check)

DURATION_S = fault_seconds(20)
KEYS = ["lin-a", "lin-b", "lin-c"]
CONFIG_KEY = "retention.ms"
VALUES = ["3600001", "3600002", "3600003", "3600004"]
OP_TIMEOUT_S = 1.5  # per gRPC attempt
MIX = [CREATE] * 3 + [DELETE] * 2 + [ALTER] * 3 + [READ] * 3
MIN_OK_WRITES = 20  # a run that acknowledged fewer writes tested nothing


class GrpcClient:
    """One attempt per operation, on this thread's own channels."""

    def __init__(self, cluster, rng: random.Random):
        self.rng = rng
        self.addresses = [m.api for m in cluster.members.values()]
        self.channels = [grpc.insecure_channel(a, options=[
            ("grpc.initial_reconnect_backoff_ms", 50), ("grpc.max_reconnect_backoff_ms", 250)])
            for a in self.addresses]
        self.stubs = [pb_grpc.ControllerServiceStub(c) for c in self.channels]

    def close(self):
        for c in self.channels:
            c.close()

    def invoke(self, f: str, key: str, value) -> tuple[str, str, object]:
        """(outcome, code, observed) of one operation."""
        stub = self.rng.choice(self.stubs)
        try:
            if f == READ:
                r = stub.ListTopics(pb.ListTopicsRequest(names=[key]), timeout=OP_TIMEOUT_S)
                for t in r.topics:
                    if t.name == key:
                        return OK, "", Present(dict(t.configs).get(CONFIG_KEY))
                if key in r.missing:
                    return OK, "", ABSENT
                return UNKNOWN, "read: neither listed nor missing", None
            if f == CREATE:
                r = stub.CreateTopics(pb.CreateTopicsRequest(topics=[pb.CreateTopicsRequest.Item(
                    name=key, partitions=1, replication_factor=1)]), timeout=OP_TIMEOUT_S)
            elif f == DELETE:
                r = stub.DeleteTopics(pb.DeleteTopicsRequest(names=[key]), timeout=OP_TIMEOUT_S)
            else:
                r = stub.AlterTopicConfigs(pb.AlterTopicConfigsRequest(topics=[
                    pb.AlterTopicConfigsRequest.Item(name=key, set={CONFIG_KEY: value})]),
                    timeout=OP_TIMEOUT_S)
        except grpc.RpcError as e:
            details = e.details() or ""  # type: ignore[attr-defined]
            if rpc_code(e) == grpc.StatusCode.UNAVAILABLE and "failed to connect" in details:
                # Never sent: no effect (and no statement about the state).
                return FAIL, "NOT_SENT", None
            return UNKNOWN, f"grpc {rpc_code(e).name}", None
        code = pb.ErrorCode.Name(r.topics[0].result.code)
        if code == "OK":
            return OK, "", None
        if code in UNKNOWN_STATUSES:
            return UNKNOWN, code, None
        return FAIL, code, None


class CliClient:
    """`fjord topic ...`, a process per operation, with the CLI's retries."""

    def __init__(self, cluster, rng: random.Random):
        self.rng = rng
        self.addresses = [m.api for m in cluster.members.values()]
        self.last_log = ""  # the last run's stderr: its attempts (-v) and error

    def close(self):
        pass

    def invoke(self, f: str, key: str, value) -> tuple[str, str, object]:
        ctl = list(self.addresses)
        self.rng.shuffle(ctl)
        kw = dict(timeout=30, command_timeout="3s", retry_timeout="6s")
        if f == READ:
            r = run_fjord(ctl, "-v", "topic", "describe", key, "--format", "json", **kw)
            self.last_log = r.debug + r.stderr
            if r.rc == 0:
                items = r.items()
                if len(items) == 1 and items[0].get("summary", {}).get("name") == key:
                    cfg = {c["key"]: c["value"] for c in items[0].get("configs", [])}
                    return OK, "", Present(cfg.get(CONFIG_KEY))
            elif r.rc == 1 and f'topic "{key}" does not exist' in r.stderr and r.items() == [] \
                    and r.stdout.strip() == "[]":
                return OK, "", ABSENT
            return UNKNOWN, r.short_error(), None
        if f == CREATE:
            r = run_fjord(ctl, "-v", "topic", "create", key, "-p", "1", "-r", "1", "--format", "json",
                          **kw)
        elif f == DELETE:
            r = run_fjord(ctl, "-v", "topic", "delete", key, "--format", "json", **kw)
        else:
            r = run_fjord(ctl, "-v", "topic", "alter-config", key, "--set", f"{CONFIG_KEY}={value}",
                          "--format", "json", **kw)
        self.last_log = r.debug + r.stderr
        outcome, code = r.outcome(key)
        return outcome, code, None


def nemesis(cluster, faults: Faults, rng: random.Random, stop: threading.Event,
            errors: list) -> None:
    """One fault at a time: inject, hold 1-3 s, undo, calm 0.5-1.5 s."""
    members = list(cluster.members.values())
    try:
        while not stop.wait(rng.uniform(0.5, 1.5)):
            leader = cluster.leader()
            target = leader if leader is not None and rng.random() < 0.5 else rng.choice(members)
            kind = rng.choice(["isolate", "isolate", "cut", "crash", "pause"])
            hold = rng.uniform(1.0, 3.0)
            if kind == "isolate":
                faults.isolate(target)
                stop.wait(hold)
                faults.heal_network()
            elif kind == "cut":
                other = rng.choice([m for m in members if m.id != target.id])
                faults.cut(target, other)
                stop.wait(hold)
                faults.heal_network()
            elif kind == "crash":
                faults.crash(target)
                stop.wait(rng.uniform(0.0, 1.5))
                faults.restart(target)
            else:
                faults.pause(target)
                stop.wait(hold)
                faults.resume(target)
    except BaseException as e:  # noqa: BLE001
        errors.append(e)
    finally:
        try:
            faults.heal_all()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)


@pytest.mark.timeout(int(DURATION_S) + 150)
@pytest.mark.parametrize("client", ["grpc", "cli"])
def test_topic_table_is_linearizable_under_faults(net_cluster_factory, tmp_path,  # noqa: F811
                                                  client):
    seed = fault_seed()
    print(f"\nlinearizability under faults, {client} client: {DURATION_S:.0f}s, seed {seed} "
          f"(FJORD_FAULT_SEED to replay)")
    cluster = net_cluster_factory(3)
    cluster.start()
    wait_for_leader_or_explain(cluster, 15)
    register_broker(cluster)
    faults = Faults(cluster)
    make = GrpcClient if client == "grpc" else CliClient
    n_clients = 4 if client == "grpc" else 3

    t0 = time.monotonic()
    history: list[Op] = []
    mu = threading.Lock()
    stop_clients, stop_nemesis = threading.Event(), threading.Event()
    errors: list = []

    def worker(pid: int) -> None:
        rng = random.Random(seed * 100 + pid)
        c = make(cluster, rng)
        try:
            while not stop_clients.is_set():
                f = rng.choice(MIX)
                key = rng.choice(KEYS)
                value = rng.choice(VALUES) if f == ALTER else None
                t_inv = time.monotonic() - t0
                outcome, code, observed = c.invoke(f, key, value)
                t_ret = time.monotonic() - t0
                op = Op(key=key, f=f, value=observed if f == READ else value, invoke=t_inv,
                        complete=None if outcome == UNKNOWN else t_ret, outcome=outcome,
                        code=code, process=pid,
                        note=f"{code} after {t_ret - t_inv:.2f}s" if outcome == UNKNOWN else "",
                        log=getattr(c, "last_log", ""))
                with mu:
                    history.append(op)
                if outcome == UNKNOWN:
                    time.sleep(0.05)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        finally:
            c.close()

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n_clients)]
    nem = threading.Thread(target=nemesis, args=(cluster, faults, random.Random(seed), stop_nemesis,
                                                 errors), daemon=True)
    for w in workers:
        w.start()
    nem.start()
    try:
        time.sleep(DURATION_S)
    finally:
        stop_nemesis.set()
        nem.join(timeout=60)
        # Some calm at the end: the clients see the healed group.
        time.sleep(1.0)
        stop_clients.set()
        for w in workers:
            w.join(timeout=60)
    assert not nem.is_alive() and not any(w.is_alive() for w in workers), "a thread hung"
    assert not errors, errors
    faults.heal_all()
    wait_for_leader_or_explain(cluster, 15)

    # The final state: one more read of each topic, after everything healed.
    final = GrpcClient(cluster, random.Random(seed))
    try:
        for key in KEYS:
            for _ in range(20):
                t_inv = time.monotonic() - t0
                outcome, code, observed = final.invoke(READ, key, None)
                if outcome == OK:
                    history.append(Op(key=key, f=READ, value=observed, invoke=t_inv,
                                      complete=time.monotonic() - t0, outcome=OK,
                                      process="final", note="final read"))
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(f"no final read of {key}:\n{describe_cluster(cluster)}")
    finally:
        final.close()

    # Every member converges on the same state (stale reads, each its own).
    def converged():
        revs = {m.id: m.stub().ListTopics(pb.ListTopicsRequest(read=pb.ReadOptions(stale=True)),
                                          timeout=2).revision for m in cluster.members.values()}
        return len(set(revs.values())) == 1

    wait_until(converged, 20, "every member at the same revision after heal")

    outcomes = Counter(f"{o.f} {o.outcome}{' ' + o.code if o.code else ''}" for o in history)
    ok_writes = sum(1 for o in history if o.f != READ and o.outcome == OK)
    path = tmp_path / "history.jsonl"
    with open(path, "w") as fh:
        for o in sorted(history, key=lambda o: o.invoke):
            d = asdict(o)
            d["value"] = repr(o.value) if o.f == READ else o.value
            fh.write(json.dumps(d) + "\n")
    t_check = time.monotonic()
    result = check(history)
    check_s = time.monotonic() - t_check
    timeline = faults.timeline(t0)
    report("linearizability_under_faults", client=client, seed=seed, seconds=DURATION_S,
           ops=len(history), ok_writes=ok_writes, faults=faults.counts,
           outcomes=dict(sorted(outcomes.items())), check_seconds=round(check_s, 2),
           keys={k: {"ops": r.ops, "unknown": r.unknown_ops, "configurations": r.configurations,
                     "ok": r.ok} for k, r in result.keys.items()})
    assert ok_writes >= MIN_OK_WRITES, \
        f"only {ok_writes} acknowledged writes: the group made no progress under faults " \
        f"({dict(outcomes)})\nfaults:\n" + "\n".join(timeline)
    assert result.ok is not None, f"checker gave up:\n{result.explain()}"
    assert result.ok, (
        f"history not linearizable ({client} client, seed {seed}; full history in {path}):\n"
        f"{result.explain()}\nfaults (seconds since start):\n" + "\n".join(timeline))
