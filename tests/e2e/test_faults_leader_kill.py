"""Kill-the-leader loop: `fjord topic create <unique name>` one after
another while the controller leader is SIGKILLed (and restarted) every ~3 s.

The contract (DESIGN.md §2 client sessions, §5 exit codes, §6 faults):

(a) a create never fails with TOPIC_ALREADY_EXISTS for its own topic: the
    CLI's retry of a create that did commit is answered with the original
    result, not refused;
(b) a create that exited 0 is never lost: its topic exists at the end;
(c) any other failure is reported; a failure the CLI does not call "outcome
    unknown" must really have failed (its topic does not exist at the end),
    so an operator can tell "failed" from "may have happened".

Duration: FJORD_FAULT_SECONDS (default 40).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter

import pytest

from conftest import pb, register_broker, report, topic_names
from faults import Faults, fault_seconds, fault_seed, run_fjord, wait_for_leader_or_explain

DURATION_S = fault_seconds(40)
KILL_EVERY_S = 3.0


@pytest.mark.timeout(int(DURATION_S) + 120)
def test_leader_kill_loop(cluster_factory):
    seed = fault_seed()
    rng = random.Random(seed)
    print(f"\nleader-kill loop: {DURATION_S:.0f}s, seed {seed} (FJORD_FAULT_SEED to replay)")
    cluster = cluster_factory(3)
    cluster.start()
    cluster.wait_for_leader(timeout=15)
    register_broker(cluster)
    faults = Faults(cluster)
    controllers = [m.api for m in cluster.members.values()]
    stop = threading.Event()
    killer_errors: list[BaseException] = []
    kills: list[int] = []
    t_start = time.monotonic()

    def killer():
        try:
            while not stop.wait(KILL_EVERY_S * rng.uniform(0.8, 1.2)):
                leader = cluster.leader()
                if leader is None:
                    continue
                faults.crash(leader)
                kills.append(leader.id)
                faults.restart(leader)
        except BaseException as e:  # noqa: BLE001
            killer_errors.append(e)

    runs = []  # (name, CliRun)
    th = threading.Thread(target=killer, daemon=True)
    th.start()
    try:
        seq = 0
        while time.monotonic() - t_start < DURATION_S:
            seq += 1
            name = f"lk-{seq:05d}"
            runs.append((name, run_fjord(controllers, "topic", "create", name, "-p", "1",
                                         "-r", "1", "--format", "json", timeout=60)))
    finally:
        stop.set()
        th.join(timeout=60)
    assert not killer_errors, killer_errors
    faults.heal_all()
    wait_for_leader_or_explain(cluster, 15)
    final = topic_names(cluster.call("ListTopics", pb.ListTopicsRequest(), timeout=30))

    own_exists, lost, other = [], [], []
    failed_but_applied = []
    categories: Counter = Counter()
    for name, run in runs:
        if run.rc == 0:
            if name not in final:
                lost.append(name)
            continue
        if run.rc == 1 and run.status_of(name) == "TOPIC_ALREADY_EXISTS":
            own_exists.append(name)
            continue
        other.append((name, run))
        if run.says_unknown:
            kind = "outcome unknown (said so by the CLI)"
        elif run.rc is None:
            kind = "no answer: killed after 60 s"
        elif run.status_of(name):
            kind = f"item status {run.status_of(name)}"
        else:
            err = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"rc {run.rc}"
            # "fjord: controller 127.0.0.1:p: deadline exceeded: ..." -> the gRPC part
            parts = err.split(": ")
            kind = f"rc {run.rc}: {parts[2] if len(parts) > 2 else err}"[:80]
        applied = name in final
        categories[f"{kind} [{'applied' if applied else 'not applied'}]"] += 1
        if applied and not run.says_unknown:
            failed_but_applied.append((name, run))

    acked = sum(1 for _, r in runs if r.rc == 0)
    report("leader_kill_loop", seconds=round(time.monotonic() - t_start, 1), seed=seed,
           kills=len(kills), creates=len(runs), acknowledged=acked,
           a_own_topic_already_exists=len(own_exists), b_acknowledged_lost=len(lost),
           c_other_failures=len(other), c_categories=dict(categories),
           failed_without_unknown_but_applied=len(failed_but_applied))
    assert len(kills) >= max(1, int(DURATION_S / KILL_EVERY_S) // 2), \
        f"only {len(kills)} leader kills in {DURATION_S}s"
    assert acked >= 10, f"only {acked} creates acknowledged in {DURATION_S}s: no progress"

    def show(items):
        return "\n".join(f"  {n}: rc={r.rc} {json.dumps(r.items()) if r.items() else ''} "
                         f"{r.stderr.strip()[:300]}" for n, r in items[:5])

    problems = []
    if own_exists:
        problems.append(
            f"(a) {len(own_exists)} of {len(runs)} creates failed with TOPIC_ALREADY_EXISTS for "
            f"their own, unique topic (a retry of a create that had committed was refused; "
            f"client sessions should answer it with the original result): "
            f"{own_exists[:10]}\n" + show([(n, r) for n, r in runs if n in own_exists]))
    if lost:
        problems.append(f"(b) {len(lost)} acknowledged creates lost (exit 0, topic missing at "
                        f"the end): {lost[:10]}")
    if failed_but_applied:
        problems.append(
            f"(c) {len(failed_but_applied)} creates exited non-zero without saying the outcome "
            f"is unknown, yet their topic exists:\n" + show(failed_but_applied))
    assert not problems, "\n".join(problems) + f"\nother failures by kind: {dict(categories)}"
