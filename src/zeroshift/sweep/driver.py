"""The driver of a sweep: hands attempts to an executor, writes every record from one place, retries failed tasks.

Workers compute; only the driver writes to the results store, each record in its own transaction as soon as it
arrives. A condition is written at most once: the driver keeps the conditions written in this sweep, and before a
retry it asks the store again (:func:`~zeroshift.sweep.tasks.stored_record`, the same check as a rerun), so a
record a dead worker delivered is kept and never written twice, and what it had not delivered is computed again by
the retry, from the artefact cache where the dead worker had got to. A condition that raised is retried with its
task; a task still failing after ``retries`` retries is reported with its errors while the sweep goes on.

Example:
    >>> outcome = TaskOutcome("zoo:x", planned=3, skipped=1, done=2)
    >>> SweepSummary("local", "r.db", [outcome], 1.0).totals()
    {'tasks': 1, 'conditions': 3, 'done': 2, 'skipped': 1, 'failed': 0, 'failed_tasks': 0}

"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from zeroshift.results.schema import RunRecord
from zeroshift.sweep.progress import SweepProgress
from zeroshift.sweep.tasks import Task, stored_record
from zeroshift.sweep.worker import PASSED_ENV, Attempt, die_after

#: test-only hook: "N" makes the driver kill itself and its worker processes (SIGKILL to its process group when it
#: leads one) on receiving the Nth record of the sweep, before writing it: the record's condition is computed and
#: cached but in no store, the worst moment for a driver to die
KILL_DRIVER_ENV = "ZEROSHIFT_SWEEP_TEST_KILL_DRIVER"


def _kill_driver_at() -> int | None:
    value = os.environ.get(KILL_DRIVER_ENV, "").strip()
    return int(value) if value else None


def _kill_driver() -> None:
    """The hook's kill: no cleanup, no flush, like a machine that goes down."""
    import signal

    if os.getpgid(0) == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


if TYPE_CHECKING:
    from zeroshift.engine.options import RunOptions
    from zeroshift.engine.runner import Runner


class Executor(Protocol):
    """What the driver needs of an executor (:class:`~zeroshift.sweep.local.LocalExecutor`,
    :class:`~zeroshift.sweep.ray_exec.RayExecutor`).
    """

    name: str

    def start(self) -> None: ...
    def describe(self) -> str: ...
    def capacity(self) -> int: ...
    def running(self) -> int: ...
    def submit(self, attempt: Attempt) -> None: ...
    def events(self, timeout: float) -> list[tuple[tuple[int, int], dict[str, Any]]]: ...
    def close(self) -> None: ...


@dataclass
class TaskOutcome:
    """What happened to one task."""

    model: str
    planned: int = 0
    skipped: int = 0
    done: int = 0
    failed: int = 0
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: worker-side seconds of each condition, per attempt, in the order computed (the first includes loading)
    condition_seconds: list[list[float]] = field(default_factory=list)


@dataclass
class SweepSummary:
    """What a sweep did."""

    executor: str
    store: str
    outcomes: list[TaskOutcome]
    seconds: float
    run_ids: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        """Tasks and conditions: done, skipped (already stored), failed."""
        return {
            "tasks": len(self.outcomes),
            "conditions": sum(o.planned for o in self.outcomes),
            "done": sum(o.done for o in self.outcomes),
            "skipped": sum(o.skipped for o in self.outcomes),
            "failed": sum(o.failed for o in self.outcomes),
            "failed_tasks": sum(1 for o in self.outcomes if o.failed),
        }

    def line(self) -> str:
        """One line of totals."""
        t = self.totals()
        return (
            f"{t['conditions']} condition(s) of {t['tasks']} task(s): {t['done']} done, {t['skipped']} skipped "
            f"(already stored), {t['failed']} failed; {self.seconds:.1f} s; records in {self.store}"
        )


@dataclass
class _State:
    task: Task
    outcome: TaskOutcome
    written: set[int] = field(default_factory=set)
    current: Attempt | None = None
    started_at: float = 0.0
    host: dict[str, Any] = field(default_factory=dict)
    item_errors: dict[int, str] = field(default_factory=dict)


def run_sweep(
    tasks: list[Task],
    executor: Executor,
    runner: Runner,
    options: RunOptions,
    retries: int = 2,
    progress: SweepProgress | None = None,
    threads: int | None = None,
    plan_digest: str = "",
    on_record: Callable[[RunRecord], None] | None = None,
) -> SweepSummary:
    """Run the tasks' conditions still to run on ``executor``, writing each record to ``runner``'s store.

    ``options`` are the workers' run options (their store is never used: records come back to the driver).
    """
    store = runner.store
    assert store is not None, "a sweep writes to a results store"
    worker_options = dataclasses.replace(options, store=None, skip_existing=False, progress=False)
    started = time.perf_counter()
    progress = progress or SweepProgress(len(tasks), 0, enabled=False)
    states = [_State(t, TaskOutcome(t.model, len(t.items), len(t.stored))) for t in tasks]
    queue: deque[Attempt] = deque()
    for state in states:
        if state.task.todo:
            queue.append(_attempt(state, 1, state.task.todo, worker_options, threads))
    summary = SweepSummary(executor.describe() if hasattr(executor, "describe") else executor.name, store.display,
                           [s.outcome for s in states], 0.0)  # fmt: skip
    for state in states:
        if not state.task.todo:
            progress.task_done(state.task.model, "done")

    def finish(state: _State) -> None:
        remaining = [i for i in state.task.todo if i not in state.written]
        if remaining and state.outcome.attempts <= retries:
            # the store decides what is left (records of a dead worker that reached it are not computed again)
            again = [i for i in remaining if stored_record(runner, state.task.items[i]) is None]
            for i in set(remaining) - set(again):  # stored meanwhile by someone else: skipped as a rerun would
                state.written.add(i)
                state.outcome.skipped += 1
                progress.condition_done()
            if again:
                progress.note(f"retrying {state.task.model}: {len(again)} condition(s) left "
                              f"(attempt {state.outcome.attempts + 1} of {retries + 1})")  # fmt: skip
                queue.append(_attempt(state, state.outcome.attempts + 1, again, worker_options, threads))
                return
            remaining = []
        state.outcome.failed = len(remaining)
        if remaining:
            for i in remaining:
                if i in state.item_errors:
                    _add_error(state.outcome, f"{state.task.describe(i)}: {state.item_errors[i]}")
            progress.condition_done(len(remaining))
            progress.note(f"failed {state.task.model}: {len(remaining)} condition(s) after {state.outcome.attempts} "
                          f"attempt(s): {'; '.join(state.outcome.errors) or 'no error reported'}")  # fmt: skip
        progress.task_done(state.task.model, "failed" if remaining else "done")

    kill_at, received = _kill_driver_at(), 0
    progress.start()
    try:
        executor.start()
        while queue or executor.running():
            while queue and executor.running() < executor.capacity():
                attempt = queue.popleft()
                state = states[attempt.task]
                state.current = attempt
                state.outcome.attempts = attempt.number
                state.started_at = time.perf_counter()
                state.item_errors.clear()
                executor.submit(attempt)
            for key, event in executor.events(0.5):
                state = states[key[0]]
                kind = event.get("kind")
                if kind == "started":
                    state.host = {k: event.get(k) for k in ("host", "pid", "device")}
                elif kind == "record":
                    item = int(event["item"])
                    if item in state.written:
                        continue  # already written (a retry never reports it twice, but the store stays exact)
                    received += 1
                    if received == kill_at:
                        _kill_driver()
                    record = RunRecord.from_json(event["record"])
                    record.provenance["sweep"] = {
                        "executor": executor.name,
                        "attempt": key[1],
                        "plan": plan_digest,
                        **state.host,
                    }
                    store.write(record)  # one transaction per record, from this one place
                    state.written.add(item)
                    state.item_errors.pop(item, None)
                    state.outcome.done += 1
                    summary.run_ids.append(record.run_id)
                    _seconds(state.outcome, key[1]).append(float(event.get("seconds") or 0.0))
                    progress.condition_done()
                    if on_record is not None:
                        on_record(record)
                elif kind == "error":
                    item = int(event["item"])
                    state.item_errors[item] = str(event.get("error"))
                    progress.note(f"{state.task.model}: {state.task.describe(item)}: {event.get('error')}")
                elif kind == "crashed":
                    _add_error(state.outcome, str(event.get("error")))
                    progress.note(f"{state.task.model}: attempt {key[1]}: {event.get('error')}")
                elif kind == "finished":
                    if state.current is None or state.current.key != key:
                        continue
                    state.current = None
                    state.outcome.seconds += time.perf_counter() - state.started_at
                    finish(state)
    finally:
        executor.close()
        progress.stop()
    summary.seconds = time.perf_counter() - started
    return summary


def _attempt(state: _State, number: int, indices: list[int], options: RunOptions, threads: int | None) -> Attempt:
    task = state.task
    return Attempt(
        task.index,
        number,
        task.model,
        [(i, task.items[i]) for i in indices],
        options,
        threads,
        die_after(task.model, number),
        {k: os.environ[k] for k in PASSED_ENV if k in os.environ},
    )


def _seconds(outcome: TaskOutcome, attempt: int) -> list[float]:
    while len(outcome.condition_seconds) < attempt:
        outcome.condition_seconds.append([])
    return outcome.condition_seconds[attempt - 1]


def _add_error(outcome: TaskOutcome, error: str) -> None:
    if error not in outcome.errors:
        outcome.errors.append(error)


__all__ = ["Executor", "SweepSummary", "TaskOutcome", "run_sweep"]
