"""Progress display for steps that take seconds (compiling, quantizing, training, the folding search).

A rich spinner (or bar) on stderr, shown only when stderr is a terminal and the command was not given
--quiet; otherwise nothing is printed, so logs and pipes stay clean. The library calls step()/track(); only
the command line decides whether they show.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def enabled() -> bool:
    return not _quiet and sys.stderr.isatty()


@contextmanager
def step(message: str) -> Iterator[None]:
    """A spinner while the block runs, then one line `message (1.2 s)`."""
    if not enabled():
        yield
        return
    console = Console(stderr=True)
    start = time.perf_counter()
    with console.status(message):
        yield
    console.print(f"[green]done[/green] {message} ({time.perf_counter() - start:.1f} s)")


def track(items: Iterable, total: int, message: str) -> Iterator:
    """Iterate items with a progress bar (when enabled)."""
    if not enabled():
        yield from items
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(message, total=total)
        for item in items:
            yield item
            bar.advance(task)
