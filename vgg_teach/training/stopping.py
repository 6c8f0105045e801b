"""SIGTERM — what Kaggle, SLURM, ``docker stop`` and a shutting-down VM send — stops a run like Ctrl-C: the save in
progress is undone, the epoch on disk is named, and ``--resume`` goes on from it."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator


class Terminated(KeyboardInterrupt):
    """A run stopped by SIGTERM (the CLI exits with 143, Ctrl-C's ``KeyboardInterrupt`` with 130)."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated


@contextmanager
def sigterm_stops() -> Iterator[None]:
    """Inside the ``with`` block SIGTERM raises :class:`Terminated`; the old handler comes back after it. Signal
    handlers belong to the main thread: elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
