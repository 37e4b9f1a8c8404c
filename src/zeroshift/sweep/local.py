"""The local executor: worker processes on this machine (spawned, one per GPU or a set number on CPU).

Each worker is a long-lived process started with ``spawn`` that takes one attempt at a time over its own pipe and
sends back the attempt's events as it goes (:func:`zeroshift.sweep.worker.iter_task`), then ``finished``. The driver
waits on every pipe and every process sentinel at once, so a worker that dies (killed, out of memory, a crash in
native code) is noticed at once: its pipe is drained (what it reported before dying is kept), its attempt is
reported ``crashed`` with the exit code, and a fresh process takes the next attempt.

Example:
    >>> executor = LocalExecutor(workers=2, devices=["cpu", "cpu"])
    >>> executor.capacity(), executor.describe()
    (2, 'local: 2 worker processes (cpu, cpu)')

"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing as mp
from multiprocessing.connection import Connection, wait
from typing import Any

from zeroshift.sweep.worker import Attempt, iter_task, one_line


def _serve(conn: Connection) -> None:
    """A worker process: run the attempts sent over ``conn`` until it sends None."""
    while True:
        try:
            attempt = conn.recv()
        except (EOFError, OSError):
            return
        if attempt is None:
            return
        try:
            for event in iter_task(attempt):
                conn.send(event)
        except Exception as err:  # the attempt could not start (or a bug): report it, serve the next one
            conn.send({"kind": "crashed", "error": one_line(err)})
        conn.send({"kind": "finished"})


@dataclasses.dataclass
class _Slot:
    device: str
    process: Any = None
    conn: Connection | None = None
    attempt: Attempt | None = None


class LocalExecutor:
    """Worker processes on this machine (see the module docstring)."""

    name = "local"

    def __init__(self, workers: int, devices: list[str]) -> None:
        self._ctx = mp.get_context("spawn")
        self._slots = [_Slot(devices[i % len(devices)]) for i in range(workers)]

    def describe(self) -> str:
        """What runs the tasks, for the summary."""
        devices = ", ".join(s.device for s in self._slots)
        return f"local: {len(self._slots)} worker process{'es' if len(self._slots) != 1 else ''} ({devices})"

    def start(self) -> None:
        """Nothing to start: worker processes start with their first attempt."""

    def capacity(self) -> int:
        """How many attempts may run at once."""
        return len(self._slots)

    def running(self) -> int:
        """Attempts in flight."""
        return sum(s.attempt is not None for s in self._slots)

    def submit(self, attempt: Attempt) -> None:
        """Hand an attempt to an idle worker (started if needed), pinned to the worker's device."""
        slot = next(s for s in self._slots if s.attempt is None)
        if slot.process is None or not slot.process.is_alive():
            parent, child = self._ctx.Pipe()
            slot.process = self._ctx.Process(target=_serve, args=(child,), name=f"zeroshift-sweep-{slot.device}")
            slot.process.start()
            child.close()
            slot.conn = parent
        if attempt.options.device in ("auto", "cuda") and slot.device.startswith("cuda"):
            attempt = dataclasses.replace(attempt, options=dataclasses.replace(attempt.options, device=slot.device))
        slot.attempt = attempt
        assert slot.conn is not None
        slot.conn.send(attempt)

    def events(self, timeout: float) -> list[tuple[tuple[int, int], dict[str, Any]]]:
        """Events of the attempts in flight (waits up to ``timeout`` seconds for the first one)."""
        busy = [s for s in self._slots if s.attempt is not None]
        if not busy:
            return []
        handles: dict[Any, _Slot] = {}
        for slot in busy:
            handles[slot.conn] = slot
            handles[slot.process.sentinel] = slot
        out: list[tuple[tuple[int, int], dict[str, Any]]] = []
        for ready in wait(list(handles), timeout):
            slot = handles[ready]
            if slot.attempt is None:
                continue  # already handled through its other handle
            key = slot.attempt.key
            dead = self._drain(slot, out) or ready is slot.process.sentinel
            if slot.attempt is None:  # finished; a process that died between attempts is replaced later
                if not slot.process.is_alive():
                    slot.process, slot.conn = None, None
                continue
            if dead:
                slot.process.join(5)
                code = slot.process.exitcode
                out.append((key, {"kind": "crashed", "error": f"worker process died (exit code {code})"}))
                out.append((key, {"kind": "finished"}))
                slot.attempt, slot.process, slot.conn = None, None, None
        return out

    def _drain(self, slot: _Slot, out: list[tuple[tuple[int, int], dict[str, Any]]]) -> bool:
        """Read every event a worker has sent; True when its pipe is closed (the process died)."""
        assert slot.conn is not None and slot.attempt is not None
        key = slot.attempt.key
        try:
            while slot.conn.poll():
                event = slot.conn.recv()
                if event.get("kind") == "finished":
                    out.append((key, event))
                    slot.attempt = None
                    return False
                out.append((key, event))
        except (EOFError, OSError):
            return True
        return False

    def close(self) -> None:
        """Stop every worker (those in flight are terminated)."""
        for slot in self._slots:
            if slot.process is None:
                continue
            if slot.attempt is None and slot.conn is not None:
                with contextlib.suppress(OSError):
                    slot.conn.send(None)
                slot.process.join(10)
            if slot.process.is_alive():
                slot.process.terminate()
                slot.process.join(10)
            slot.process, slot.conn, slot.attempt = None, None, None


__all__ = ["LocalExecutor"]
