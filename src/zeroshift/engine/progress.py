"""Progress bars with images/s, shown by the CLI and silent in library use.

Example:
    >>> with progress_bar("encode", total=3, enabled=False) as advance:
    ...     advance(3)

"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second of a task."""

    def __init__(self, unit: str = "img/s") -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:  # noqa: D102
        speed = task.finished_speed or task.speed
        return Text(f"{speed:6.1f} {self.unit}" if speed else f"   -- {self.unit}", style="cyan")


@contextlib.contextmanager
def progress_bar(
    description: str, total: int, enabled: bool = True, unit: str = "img/s"
) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; draws a rich bar on stderr when ``enabled``, from the first advance on.

    The bar starts with the first piece of work, so a step served entirely from the cache draws nothing.
    """
    if not enabled or total <= 0:
        yield lambda n: None
        return
    bar: list[tuple[Progress, TaskID]] = []

    def advance(n: int) -> None:
        if not bar:
            columns = [
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                RateColumn(unit),
                TimeRemainingColumn(),
            ]
            progress = Progress(*columns, console=Console(stderr=True), transient=False)
            progress.start()
            bar.append((progress, progress.add_task(description, total=total)))
        progress, task = bar[0]
        progress.advance(task, n)

    try:
        yield advance
    finally:
        if bar:
            bar[0][0].stop()
