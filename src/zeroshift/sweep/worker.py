"""What a sweep worker does with one attempt of a task: run its conditions in order and report each one.

A worker never writes to the results store: it yields events, and the driver writes each record in its own
transaction (:mod:`zeroshift.sweep.driver`). Events are plain dicts:

- ``{"kind": "started", "host", "pid", "device"}`` once;
- ``{"kind": "record", "item", "record", "seconds"}`` per condition (the record as JSON, with its samples);
- ``{"kind": "error", "item", "error", "traceback"}`` for a condition that raised (the task goes on with its next
  condition; the driver retries the failed ones).

The model loads once for the whole attempt (one :class:`~zeroshift.engine.runner.Runner` per attempt), and every
artefact a condition produces is written to the cache in atomic chunks, so an attempt killed midway is resumed by the
next one from the cache.

Test-only hook: an attempt whose ``die_after`` is N ends its process with ``os._exit`` right after computing its
N-th condition and before reporting it (the driver sets it from ``$ZEROSHIFT_SWEEP_TEST_DIE``, see
:func:`die_after`), so tests can kill a worker midway on purpose.

Example:
    >>> die_after("zoo:clip-cnn-diverse", 1, {"ZEROSHIFT_SWEEP_TEST_DIE": "zoo:clip-cnn-diverse=2"})
    2
    >>> die_after("zoo:clip-cnn-diverse", 2, {"ZEROSHIFT_SWEEP_TEST_DIE": "zoo:clip-cnn-diverse=2"}) is None
    True

"""

from __future__ import annotations

import os
import socket
import time
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from zeroshift.engine.options import RunOptions
from zeroshift.engine.plan import PlanItem

#: the environment variable of the test-only kill hook: ``MODEL=N`` (the first attempt of MODEL's task dies after
#: computing its N-th condition, before reporting it)
DIE_ENV = "ZEROSHIFT_SWEEP_TEST_DIE"
#: the exit code of a worker killed by the hook
DIE_EXIT_CODE = 75
#: environment variables a worker takes from the driver
PASSED_ENV = ("ZEROSHIFT_PLUGINS",)


@dataclass
class Attempt:
    """One attempt at a task: the items still to run (index within the task, item) and how to run them."""

    task: int
    number: int
    model: str
    items: list[tuple[int, PlanItem]]
    options: RunOptions
    threads: int | None = None
    die_after: int | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, int]:
        """(task, attempt number)."""
        return self.task, self.number


def die_after(model: str, attempt: int, environ: Mapping[str, str] | None = None) -> int | None:
    """The test-only hook: after how many conditions the first attempt of ``model``'s task must die (or None)."""
    value = (os.environ if environ is None else environ).get(DIE_ENV, "")
    name, sep, count = value.rpartition("=")
    if not sep or attempt != 1 or name != model:
        return None
    return int(count)


def one_line(err: BaseException) -> str:
    """``Type: first line of the message``."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def iter_task(attempt: Attempt) -> Iterator[dict[str, Any]]:
    """Run an attempt's conditions in order, yielding one event per condition (see the module docstring)."""
    import torch

    from zeroshift.engine.runner import Runner
    from zeroshift.plugins import load_plugins

    os.environ.update(attempt.env)  # the driver's plugin list (a Ray worker's environment is the cluster's)
    load_plugins()
    if attempt.threads:
        torch.set_num_threads(attempt.threads)
    runner = Runner(attempt.options)
    yield {"kind": "started", "host": socket.gethostname(), "pid": os.getpid(), "device": str(runner.device)}
    for n, (index, item) in enumerate(attempt.items, 1):
        started = time.perf_counter()
        try:
            record = runner.run(item)
        except Exception as err:  # reported; the task goes on with its next condition
            yield {"kind": "error", "item": index, "error": one_line(err), "traceback": traceback.format_exc()}
            continue
        seconds = time.perf_counter() - started
        if attempt.die_after == n:
            os._exit(DIE_EXIT_CODE)  # the test-only hook: computed (and cached), never reported
        yield {"kind": "record", "item": index, "record": record.to_json(with_samples=True), "seconds": seconds}


__all__ = ["Attempt", "DIE_ENV", "die_after", "iter_task", "one_line"]
