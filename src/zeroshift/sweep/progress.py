"""Progress of a sweep over tasks and conditions (rates and an ETA), and its final summary table.

Example:
    >>> progress = SweepProgress(n_tasks=2, n_conditions=5, enabled=False)
    >>> progress.start(); progress.condition_done(); progress.task_done("zoo:x", "done"); progress.stop()
    >>> progress.conditions_done, progress.tasks_done
    (1, 1)

"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from zeroshift.sweep.driver import SweepSummary


class SweepProgress:
    """Two bars (tasks, conditions) on stderr when enabled; notes (retries, failures) are printed either way."""

    def __init__(self, n_tasks: int, n_conditions: int, enabled: bool = True, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.enabled = enabled
        self.tasks_done = 0
        self.conditions_done = 0
        self._progress: Progress | None = None
        self._n_tasks, self._n_conditions = n_tasks, n_conditions

    def start(self) -> None:
        """Draw the bars."""
        if not self.enabled:
            return
        self._progress = Progress(
            TextColumn("[bold]{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            _UnitRate(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self._tasks = self._progress.add_task("tasks", total=self._n_tasks, unit="task")
        self._conditions = self._progress.add_task("conditions", total=self._n_conditions, unit="cond")
        self._progress.start()

    def stop(self) -> None:
        """Stop drawing."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def note(self, text: str) -> None:
        """A line above the bars (or alone)."""
        self.console.print(text, soft_wrap=True, highlight=False, markup=False)

    def condition_done(self, n: int = 1) -> None:
        """Conditions completed (written, or given up)."""
        self.conditions_done += n
        if self._progress is not None:
            self._progress.advance(self._conditions, n)

    def task_done(self, model: str, status: str) -> None:
        """A task ended (``done`` or ``failed``)."""
        self.tasks_done += 1
        if self._progress is not None:
            self._progress.advance(self._tasks, 1)


class _UnitRate(ProgressColumn):
    """Per-minute rate with the task's own unit."""

    def render(self, task: Task) -> Text:  # noqa: D102
        unit = task.fields.get("unit", "")
        speed = task.finished_speed or task.speed
        return Text(f"{speed * 60:7.1f} {unit}/min" if speed else f"     -- {unit}/min", style="cyan")


def summary_table(summary: SweepSummary) -> Table:
    """One row per task: conditions, done, skipped (already stored), failed, attempts, time, the first error."""
    table = Table(title=f"sweep: {summary.executor}", title_justify="left")
    table.add_column("model", no_wrap=True)
    for name in ("conditions", "done", "skipped", "failed", "attempts", "time"):
        table.add_column(name, justify="right")
    table.add_column("error", overflow="fold")
    for o in summary.outcomes:
        table.add_row(
            o.model,
            str(o.planned),
            str(o.done),
            str(o.skipped),
            str(o.failed) if o.failed else "",
            str(o.attempts),
            f"{o.seconds:.1f} s" if o.attempts else "",
            "; ".join(o.errors) if o.failed else "",
        )
    return table


__all__ = ["SweepProgress", "summary_table"]
