"""A linearizability checker for histories of the controller's topic table.

Pure Python, no dependencies, no I/O: the fault tests record a history and
hand it here; `test_linearizability_checker.py` tests the checker itself.

The history is a list of `Op`s. Each op has an invocation time, a completion
time and an outcome:

- ``ok``: the operation took effect exactly once, at some instant between
  its invocation and its completion;
- ``fail`` with a ``code``: the operation was refused (``TOPIC_ALREADY_EXISTS``
  for a create, ``UNKNOWN_TOPIC`` for a delete or alter). A refusal is a
  statement about the state at some instant in its window (the topic existed,
  or did not), and it has no effect. A refusal with any other code (an invalid
  argument) says nothing about the state and is ignored;
- ``unknown`` (a timeout, an unreachable leader, "outcome unknown"): the
  operation may have taken effect once, at any instant after its invocation
  (even long after the client gave up: an entry committed by a later leader),
  or never. Its completion time is ignored. A read of unknown outcome says
  nothing and is ignored.

The model (`TopicModel`) is one topic of the topic table, seen through one
config key: its state is `ABSENT` or `Present(value)` (the key's value, None
for the default). A create succeeds iff the topic is absent (and creates it
with the given value), a delete iff present, an alter iff present (and sets
the value), a read returns the state.

Topics are independent objects, so a history is linearizable iff each topic's
sub-history is (linearizability is local, Herlihy & Wing 1990); `check`
splits by `Op.key` and searches each key separately, which keeps the search
small.

The search is Wing & Gong's (1993), with Lowe's memoisation of visited
configurations (as in Knossos and Porcupine): a configuration is the set of
ops already linearized plus the model state; from it, any op not yet
linearized whose invocation precedes the earliest completion among the
definite ops not yet linearized may go next. The search succeeds once every
definite op is linearized (unknown ops may be left out).

Unknown ops of the same kind with the same argument are interchangeable once
they have all been invoked, so a configuration counts how many of each such
class it has used rather than which ones: without that, every unknown op
would double the number of configurations.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

OK = "ok"
FAIL = "fail"
UNKNOWN = "unknown"

CREATE = "create"
DELETE = "delete"
ALTER = "alter"
READ = "read"


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"

    def __reduce__(self):
        return "ABSENT"


ABSENT = _Absent()


@dataclass(frozen=True)
class Present:
    """A topic that exists, with `value` for the observed config key (None:
    the key is not set, the topic uses the default)."""

    value: Optional[str] = None

    def __repr__(self) -> str:
        return f"Present({self.value!r})"


@dataclass
class Op:
    """One client operation on one topic.

    `value`: for a create or an alter, the config value it sets (None: none);
    for a read that completed, the state it observed (`ABSENT` or a
    `Present`). `complete` is ignored for unknown outcomes (use None)."""

    key: str
    f: str
    value: Any
    invoke: float
    complete: Optional[float]
    outcome: str
    code: str = ""
    process: Any = None
    note: str = ""
    log: str = ""  # the client's own account (a CLI run's stderr), for the history file

    def describe(self) -> str:
        end = "?" if self.outcome == UNKNOWN or self.complete is None else f"{self.complete:.3f}"
        out = self.outcome if self.outcome != FAIL else f"fail {self.code}"
        v = "" if self.value is None else f" {self.value!r}"
        p = "" if self.process is None else f" by {self.process}"
        n = f" ({self.note})" if self.note else ""
        return f"{self.f}{v} -> {out} [{self.invoke:.3f}, {end}]{p}{n}"


class TopicModel:
    """The topic table's rules for one topic name."""

    init = ABSENT

    # A refusal code that is a statement about the state, per operation.
    refusals = {CREATE: "TOPIC_ALREADY_EXISTS", DELETE: "UNKNOWN_TOPIC", ALTER: "UNKNOWN_TOPIC"}

    def relevant(self, op: Op) -> bool:
        """False for ops that constrain nothing: unknown reads and refusals
        for reasons that do not depend on the state."""
        if op.outcome == UNKNOWN:
            return op.f != READ
        if op.outcome == FAIL:
            return self.refusals.get(op.f) == op.code
        return True

    def step(self, state, op: Op, outcome: str):
        """The state after `op` with `outcome` (OK or FAIL) applied to
        `state`, or None if `op` cannot have had that outcome in `state`."""
        f = op.f
        if f == READ:
            return state if state == op.value else None
        present = state is not ABSENT
        if outcome == FAIL:
            if f == CREATE:
                return state if present else None
            return state if not present else None  # delete, alter of an absent topic
        if f == CREATE:
            return Present(op.value) if not present else None
        if f == DELETE:
            return ABSENT if present else None
        if f == ALTER:
            return Present(op.value) if present else None
        raise ValueError(f"unknown operation {f!r}")

    def effect(self, state, op: Op):
        """An unknown-outcome op taking effect: the state after it, or None
        when it would have been refused (then taking effect changes nothing,
        which is the same as never taking effect)."""
        if op.f == READ:
            return None
        nxt = self.step(state, op, OK)
        return nxt if nxt is not None and nxt != state else None


@dataclass
class KeyResult:
    key: str
    ok: Optional[bool]  # None: the search ran out of budget
    ops: int
    unknown_ops: int
    configurations: int
    linearization: list = field(default_factory=list)  # ops in order (when ok)
    # When not linearizable: the longest prefix that could be linearized, the
    # state after it, and the definite ops that could not go next.
    best_prefix: list = field(default_factory=list)
    best_state: Any = None
    stuck: list = field(default_factory=list)

    def explain(self, limit: int = 12) -> str:
        if self.ok:
            return f"{self.key}: linearizable ({self.ops} ops, {self.unknown_ops} unknown)"
        if self.ok is None:
            return (f"{self.key}: undecided, search budget exhausted after "
                    f"{self.configurations} configurations")
        lines = [f"{self.key}: NOT linearizable ({self.ops} ops, {self.unknown_ops} unknown, "
                 f"{self.configurations} configurations searched)",
                 f"  longest linearizable prefix ({len(self.best_prefix)} ops), last "
                 f"{min(limit, len(self.best_prefix))}:"]
        for op in self.best_prefix[-limit:]:
            lines.append(f"    {op.describe()}")
        lines.append(f"  state after it: {self.best_state!r}; none of these can go next:")
        for op in self.stuck[:limit]:
            lines.append(f"    {op.describe()}")
        return "\n".join(lines)


@dataclass
class Result:
    ok: Optional[bool]
    keys: dict

    def explain(self) -> str:
        bad = [r for r in self.keys.values() if not r.ok]
        if not bad:
            return f"linearizable: {len(self.keys)} keys"
        return "\n".join(r.explain() for r in bad)


def check(history: Iterable[Op], model: Optional[TopicModel] = None,
          max_configurations: int = 2_000_000) -> Result:
    """Checks a whole history, one key at a time."""
    model = model or TopicModel()
    by_key: dict[str, list[Op]] = {}
    for op in history:
        by_key.setdefault(op.key, []).append(op)
    keys = {k: check_key(k, ops, model, max_configurations) for k, ops in sorted(by_key.items())}
    if any(r.ok is False for r in keys.values()):
        ok: Optional[bool] = False
    elif any(r.ok is None for r in keys.values()):
        ok = None
    else:
        ok = True
    return Result(ok, keys)


def check_key(key: str, ops: list[Op], model: Optional[TopicModel] = None,
              max_configurations: int = 2_000_000) -> KeyResult:
    """Wing & Gong search over one key's ops."""
    model = model or TopicModel()
    for op in ops:
        if op.outcome not in (OK, FAIL, UNKNOWN):
            raise ValueError(f"bad outcome in {op}")
        if op.outcome != UNKNOWN and (op.complete is None or op.complete < op.invoke):
            raise ValueError(f"a completed op needs complete >= invoke: {op}")
    ops = [op for op in ops if model.relevant(op)]
    definite = sorted((op for op in ops if op.outcome != UNKNOWN), key=lambda o: o.invoke)
    unknown = [op for op in ops if op.outcome == UNKNOWN]
    n = len(definite)
    inv = [op.invoke for op in definite]
    # Definite ops by completion; bit i of `rmask` is ret_order[i].
    ret_order = sorted(range(n), key=lambda i: definite[i].complete)
    ret_pos = [0] * n
    for r, i in enumerate(ret_order):
        ret_pos[i] = r
    rets = [definite[i].complete for i in ret_order]
    # Unknown ops in classes of interchangeable ops, each by invocation.
    classes: dict[tuple, list[Op]] = {}
    for op in unknown:
        classes.setdefault((op.f, _hashable(op.value)), []).append(op)
    class_ops = [sorted(v, key=lambda o: o.invoke) for _, v in sorted(classes.items(),
                                                                     key=lambda kv: repr(kv[0]))]
    class_inv = [[o.invoke for o in v] for v in class_ops]
    n_classes = len(class_ops)
    full = (1 << n) - 1
    inf = float("inf")

    def lowest_zero(mask: int) -> int:
        return ((~mask) & (mask + 1)).bit_length() - 1

    # A configuration: (mask over `definite` by invocation, mask by
    # completion, model state, uses per unknown class). The completion mask
    # is derived from the other, so the memo key leaves it out.
    start = (0, 0, model.init, (0,) * n_classes)
    seen = {(0, model.init, start[3])}
    # Each stack frame: the configuration, its successors still to try, and
    # the op that led to it (for the linearization on success).
    stack: list[tuple] = []
    best_depth = -1
    best: tuple = ()
    path: list[Op] = []

    def successors(cfg):
        mask, rmask, state, used = cfg
        r0 = lowest_zero(rmask)
        horizon = rets[r0] if r0 < n else inf
        out = []
        i = lowest_zero(mask)
        while i < n and inv[i] < horizon:
            if not (mask >> i) & 1:
                op = definite[i]
                nxt = model.step(state, op, op.outcome)
                if nxt is not None:
                    out.append((op, (mask | (1 << i), rmask | (1 << ret_pos[i]), nxt, used)))
            i += 1
        for c in range(n_classes):
            avail = bisect.bisect_left(class_inv[c], horizon) - used[c]
            if avail <= 0:
                continue
            op = class_ops[c][used[c]]
            nxt = model.effect(state, op)
            if nxt is not None:
                u = list(used)
                u[c] += 1
                out.append((op, (mask, rmask, nxt, tuple(u))))
        # Depth first, most promising last (popped first): the definite op
        # that completes earliest, unknown ops only when nothing else fits.
        out.reverse()
        return out

    configurations = 1
    stack.append((start, successors(start)))
    while stack:
        cfg, succ = stack[-1]
        if cfg[0] == full:
            return KeyResult(key, True, len(ops), len(unknown), configurations,
                             linearization=list(path))
        if len(path) > best_depth and n > 0:
            best_depth = len(path)
            best = (list(path), cfg)
        if not succ:
            stack.pop()
            if path:
                path.pop()
            continue
        op, nxt = succ.pop()
        memo = (nxt[0], nxt[2], nxt[3])
        if memo in seen:
            continue
        seen.add(memo)
        configurations += 1
        if configurations > max_configurations:
            return KeyResult(key, None, len(ops), len(unknown), configurations)
        path.append(op)
        stack.append((nxt, successors(nxt)))

    if n == 0:
        return KeyResult(key, True, len(ops), len(unknown), configurations)
    prefix, cfg = best
    mask, rmask, state, _ = cfg
    r0 = lowest_zero(rmask)
    horizon = rets[r0] if r0 < n else inf
    stuck = [definite[i] for i in range(n) if not (mask >> i) & 1 and inv[i] < horizon]
    return KeyResult(key, False, len(ops), len(unknown), configurations,
                     best_prefix=prefix, best_state=state, stuck=stuck)


def _hashable(v):
    try:
        hash(v)
        return v
    except TypeError:
        return repr(v)
