"""All terminal output in one place: messages, warnings, progress bars and the training log.

Quiet is one switch (:func:`set_quiet`, the CLI's ``--quiet``): it silences messages and bars but never
warnings or errors.  Bars appear only on a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_quiet = False


def set_quiet(quiet: bool) -> None:
    """Turn messages and bars off (or on again)."""
    global _quiet
    _quiet = quiet


def quiet() -> bool:
    return _quiet


def say(message: str) -> None:
    """A result line on stdout (suppressed by quiet)."""
    if not _quiet:
        print(message, flush=True)


def warn(message: str) -> None:
    """A warning on stderr (always shown)."""
    print(message, file=sys.stderr, flush=True)


def _bars_on() -> bool:
    return not _quiet and sys.stdout.isatty()


@contextmanager
def bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar; yields ``update(done, total)`` (``None`` when bars are off)."""
    if not _bars_on():
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(TextColumn(f"[bold]{label}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                        TimeRemainingColumn())
    tid = progress.add_task(label, total=1)
    with progress:
        yield lambda done, total: progress.update(tid, completed=done, total=total)


class TrainLog:
    """The training loop's output: a bar with the latest metrics on a terminal, else one line per log step."""

    def __init__(self, total: int, done: int) -> None:
        self.bar = None
        if _bars_on():
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("[bold]train"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                                TimeRemainingColumn(), TextColumn("{task.fields[info]}"))
            self.tid = self.bar.add_task("train", total=total, completed=done, info="")
            self.bar.start()

    def step(self, step: int, row: dict[str, float]) -> None:
        info = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
                        if k != "step")
        if self.bar is not None:
            self.bar.update(self.tid, completed=step, info=info)
        else:
            say(f"step {step}: {info}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
