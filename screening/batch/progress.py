"""Terminal view of a batch run: a rich progress bar on stderr (rate, errors and ETA)."""

from __future__ import annotations


class BatchProgress:
    """A progress callback for ``run_batch`` drawing on stderr; silent when stderr is not a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._progress = None
        self._task = None

    def __enter__(self) -> "BatchProgress":
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, done: int, total: int | None, errors: int) -> None:
        if not self.enabled:
            return
        if self._progress is None:  # started on the first report: after the worker processes exist
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self._progress = Progress(
                TextColumn("screening"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                TextColumn("{task.fields[rate]}"), TextColumn("errors {task.fields[errors]}"),
                TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                console=Console(stderr=True), transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task("screening", total=total, completed=done, rate="", errors=errors)
            self._start = done
            return
        task = self._progress.tasks[0]
        speed = task.speed
        rate = f"{speed:,.0f} patients/s" if speed else ""
        self._progress.update(self._task, completed=done, errors=errors, rate=rate)
