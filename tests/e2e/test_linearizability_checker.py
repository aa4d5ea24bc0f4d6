"""The linearizability checker (`linearizability.py`) on hand-made histories:
it must accept what is linearizable and reject what is not, or the fault
tests that rely on it prove nothing. Pure Python; no processes."""

from __future__ import annotations

import itertools
import random
import time

from linearizability import (ABSENT, ALTER, CREATE, DELETE, FAIL, OK, READ, UNKNOWN, Op, Present,
                             TopicModel, check, check_key)

EXISTS = "TOPIC_ALREADY_EXISTS"
MISSING = "UNKNOWN_TOPIC"


def op(f, t0, t1, outcome=OK, value=None, code="", key="t", process=None) -> Op:
    if outcome == FAIL and not code:
        code = {CREATE: EXISTS, DELETE: MISSING, ALTER: MISSING}[f]
    return Op(key=key, f=f, value=value, invoke=t0, complete=None if outcome == UNKNOWN else t1,
              outcome=outcome, code=code, process=process)


def ok(history) -> bool:
    r = check(history)
    assert r.ok is not None, r.explain()
    return r.ok


# ---------------------------------------------------------------- accepted


def test_sequential_history_is_linearizable():
    assert ok([
        op(READ, 0, 1, value=ABSENT),
        op(CREATE, 2, 3),
        op(READ, 4, 5, value=Present(None)),
        op(ALTER, 6, 7, value="1000"),
        op(READ, 8, 9, value=Present("1000")),
        op(CREATE, 10, 11, FAIL),
        op(DELETE, 12, 13),
        op(DELETE, 14, 15, FAIL),
        op(ALTER, 16, 17, FAIL, value="2000"),
        op(READ, 18, 19, value=ABSENT),
        op(CREATE, 20, 21),
        op(READ, 22, 23, value=Present(None)),  # a new topic has no config set
    ])


def test_concurrent_creates_one_wins():
    # Two overlapping creates of one name: one succeeds, the other is refused.
    assert ok([op(CREATE, 0, 10, process=1), op(CREATE, 1, 5, FAIL, process=2),
               op(READ, 11, 12, value=Present(None))])
    # The refused one may even complete first: the winner took effect before it.
    assert ok([op(CREATE, 0, 10, process=1), op(CREATE, 2, 3, FAIL, process=2)])


def test_concurrent_ops_may_take_effect_in_either_order():
    # alter "a" and alter "b" overlap; a later read sees "a": b went first.
    assert ok([op(CREATE, 0, 1), op(ALTER, 2, 6, value="a"), op(ALTER, 3, 5, value="b"),
               op(READ, 7, 8, value=Present("a"))])
    # A read concurrent with a delete may see either state.
    for seen in (ABSENT, Present(None)):
        assert ok([op(CREATE, 0, 1), op(DELETE, 2, 6), op(READ, 3, 5, value=seen)])


def test_unknown_outcome_may_or_may_not_take_effect():
    base = [op(READ, 0, 1, value=ABSENT), op(CREATE, 2, None, UNKNOWN)]
    assert ok(base + [op(READ, 5, 6, value=Present(None))])  # it took effect
    assert ok(base + [op(READ, 5, 6, value=ABSENT)])  # it did not (yet)
    # It can take effect long after the client gave up (a later leader
    # committed it): absent at 5, present at 20, with no other create.
    assert ok(base + [op(DELETE, 5, 6, FAIL), op(READ, 20, 21, value=Present(None))])


def test_unknown_read_and_unrelated_refusals_constrain_nothing():
    assert ok([op(CREATE, 0, 1), op(READ, 2, None, UNKNOWN),
               op(CREATE, 3, 4, FAIL, code="INVALID_ARGUMENT"),
               op(READ, 5, 6, value=Present(None))])


def test_keys_are_independent():
    # The same pattern on two names is fine; each name is its own object.
    assert ok([op(CREATE, 0, 1, key="a"), op(CREATE, 0.5, 1.5, key="b"),
               op(DELETE, 2, 3, key="a"), op(READ, 4, 5, value=Present(None), key="b"),
               op(READ, 4, 5, value=ABSENT, key="a")])


# ---------------------------------------------------------------- rejected


def test_create_after_a_completed_create_without_delete_is_rejected():
    # The brief's example: a create that succeeded after another create of
    # the same name had completed, with no delete in between.
    h = [op(CREATE, 0, 1, process=1), op(CREATE, 2, 3, process=2)]
    r = check(h)
    assert r.ok is False, r.explain()
    assert "NOT linearizable" in r.explain()
    # ...and with a delete in between it is fine.
    assert ok([op(CREATE, 0, 1), op(DELETE, 1.5, 1.8), op(CREATE, 2, 3)])


def test_stale_read_is_rejected():
    # A create completed; a later read (not concurrent with anything) sees
    # the topic absent: a stale read, e.g. served by a deposed leader.
    assert not ok([op(CREATE, 0, 1), op(READ, 2, 3, value=ABSENT)])
    # A stale config value: "b" replaced "a" before the read began.
    assert not ok([op(CREATE, 0, 1), op(ALTER, 2, 3, value="a"), op(ALTER, 4, 5, value="b"),
                   op(READ, 6, 7, value=Present("a"))])
    # Reads may not go back in time: once one read saw "b", a later one
    # cannot see "a", even though the two alters were concurrent.
    assert not ok([op(CREATE, 0, 1), op(ALTER, 2, 6, value="a"), op(ALTER, 3, 5, value="b"),
                   op(READ, 7, 8, value=Present("b")), op(READ, 9, 10, value=Present("a"))])


def test_refusal_that_contradicts_the_state_is_rejected():
    assert not ok([op(CREATE, 0, 1), op(DELETE, 2, 3, FAIL)])  # "does not exist", but it does
    assert not ok([op(CREATE, 0, 1, FAIL)])  # "already exists", but it never was created
    assert not ok([op(ALTER, 0, 1, value="x")])  # altered a topic that does not exist


def test_a_retry_answered_with_its_own_effect_is_rejected():
    # What a client without sessions produces: its create committed, the
    # reply was lost, the retry was refused with TOPIC_ALREADY_EXISTS. Seen
    # as one operation it failed, yet the topic exists and nobody else made it.
    assert not ok([op(READ, 0, 1, value=ABSENT), op(CREATE, 2, 3, FAIL),
                   op(READ, 4, 5, value=Present(None))])


def test_an_unknown_op_takes_effect_at_most_once():
    # One unknown create cannot explain the topic appearing twice.
    h = [op(CREATE, 0, None, UNKNOWN), op(READ, 1, 2, value=Present(None)), op(DELETE, 3, 4),
         op(READ, 5, 6, value=Present(None))]
    assert not ok(h)
    # Two unknown creates can.
    assert ok(h + [op(CREATE, 0.5, None, UNKNOWN)])
    # ...but not one invoked after the read that needs it.
    assert not ok(h + [op(CREATE, 7, None, UNKNOWN)])


def test_an_unknown_op_cannot_take_effect_before_it_was_invoked():
    assert not ok([op(READ, 0, 1, value=Present(None)), op(CREATE, 2, None, UNKNOWN)])


def test_lost_acknowledged_write_is_rejected():
    # The final read after healing misses an acknowledged create...
    assert not ok([op(CREATE, 0, 1), op(READ, 10, 11, value=ABSENT)])
    # ...unless a delete of unknown outcome may have removed it.
    assert ok([op(CREATE, 0, 1), op(DELETE, 0.5, None, UNKNOWN), op(READ, 10, 11, value=ABSENT)])


def test_explanation_names_the_stuck_operations():
    r = check_key("t", [op(CREATE, 0, 1, process="p1"), op(CREATE, 2, 3, process="p2")])
    assert r.ok is False
    text = r.explain()
    assert "p2" in text and "Present(None)" in text, text


# ---------------------------------------------------------------- larger histories


def simulate(seed: int, n_ops: int = 300, procs: int = 5, p_unknown: float = 0.1,
             keys=("a", "b")) -> list[Op]:
    """A history produced by a linearizable system: each op takes effect
    atomically at a random instant inside its window, on a real table; some
    outcomes are then hidden (unknown), some of those never took effect."""
    rng = random.Random(seed)
    state = {k: ABSENT for k in keys}
    events = []  # (linearization point, op) to execute in point order
    t = 0.0
    free_at = [0.0] * procs
    for _ in range(n_ops):
        p = rng.randrange(procs)
        start = max(free_at[p], t) + rng.random() * 0.5
        end = start + 0.05 + rng.random() * 2.0
        point = start + rng.random() * (end - start)
        free_at[p] = end
        t += rng.random() * 0.3
        f = rng.choice([CREATE, CREATE, DELETE, ALTER, READ, READ])
        value = rng.choice(["1", "2", "3"]) if f == ALTER else None
        events.append((point, Op(key=rng.choice(keys), f=f, value=value, invoke=start,
                                 complete=end, outcome=OK, process=p)))
    history = []
    for point, o in sorted(events, key=lambda e: e[0]):
        s = state[o.key]
        hide = rng.random() < p_unknown and o.f != READ
        if hide and rng.random() < 0.5:
            # Lost before taking effect.
            o.outcome, o.complete = UNKNOWN, None
            history.append(o)
            continue
        if o.f == READ:
            o.value = s
        elif o.f == CREATE:
            if s is ABSENT:
                state[o.key] = Present(None)
            else:
                o.outcome, o.code = FAIL, EXISTS
        elif o.f == DELETE:
            if s is not ABSENT:
                state[o.key] = ABSENT
            else:
                o.outcome, o.code = FAIL, MISSING
        elif o.f == ALTER:
            if s is not ABSENT:
                state[o.key] = Present(o.value)
            else:
                o.outcome, o.code = FAIL, MISSING
        if hide:
            o.outcome, o.complete, o.code = UNKNOWN, None, ""
        history.append(o)
    return history


def test_random_linearizable_histories_are_accepted_quickly():
    t0 = time.monotonic()
    for seed in range(20):
        h = simulate(seed)
        r = check(h)
        assert r.ok is True, f"seed {seed}:\n{r.explain()}"
    assert time.monotonic() - t0 < 20, "the checker is too slow for the fault tests"


def test_random_histories_with_one_corrupted_read_are_rejected():
    rejected = 0
    for seed in range(20):
        h = simulate(seed, p_unknown=0.0)
        reads = [o for o in h if o.f == READ and o.outcome == OK]
        rng = random.Random(seed)
        victim = rng.choice(reads)
        # Flip what the read saw to something that was never the state
        # during its window (a value nobody ever wrote).
        victim.value = Present("never-written")
        r = check(h)
        assert r.ok is False, f"seed {seed}: corrupted read accepted"
        rejected += 1
    assert rejected == 20


def brute_force(ops: list[Op]) -> bool:
    """Linearizability by definition, for tiny histories: some subset of the
    unknown ops plus every definite op, in some order that respects real
    time (an op that completed before another was invoked comes first), is
    a legal sequential run of the model."""
    model = TopicModel()
    ops = [o for o in ops if model.relevant(o)]
    definite = [o for o in ops if o.outcome != UNKNOWN]
    unknown = [o for o in ops if o.outcome == UNKNOWN]
    for k in range(len(unknown) + 1):
        for chosen in itertools.combinations(unknown, k):
            for order in itertools.permutations(definite + list(chosen)):
                if any(b.outcome != UNKNOWN and b.complete < a.invoke
                       for i, a in enumerate(order) for b in order[i + 1:]):
                    continue
                state = model.init
                for o in order:
                    state = model.step(state, o, OK if o.outcome == UNKNOWN else o.outcome)
                    if state is None:
                        break
                if state is not None:
                    return True
    return False


def test_agrees_with_brute_force_on_small_random_histories():
    rng = random.Random(7)
    verdicts = {True: 0, False: 0}
    for _ in range(1500):
        ops = []
        for _ in range(rng.randint(1, 6)):
            f = rng.choice([CREATE, DELETE, ALTER, READ])
            t0 = rng.randint(0, 10) + rng.random() * 0.1
            t1 = t0 + rng.randint(0, 5) + 0.5
            if f == READ:
                outcome = rng.choice([OK, OK, UNKNOWN])
                value = rng.choice([ABSENT, Present(None), Present("1")])
            else:
                outcome = rng.choice([OK, OK, FAIL, UNKNOWN])
                value = rng.choice(["1", "2"]) if f == ALTER else None
            ops.append(op(f, t0, t1, outcome, value=value))
        expected = brute_force(ops)
        verdicts[expected] += 1
        got = check_key("t", ops).ok
        assert got == expected, (got, expected, [o.describe() for o in ops])
    assert verdicts[True] > 200 and verdicts[False] > 200, verdicts
