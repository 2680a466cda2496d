"""Turn SIGTERM into a request to stop training at the next safe point.

A scheduler sends SIGTERM before it evicts a machine. Dying at once would lose the epoch in
flight and could leave a half-written log; the trainer instead checks :attr:`StopRequest.signum`
between phases and stops where the snapshots are consistent.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

_log = logging.getLogger("trainflow")


class StopRequest:
    """A context manager that records SIGTERM instead of dying, and restores the old handler.

    Python only lets the main thread install signal handlers; elsewhere (e.g. a Prefect task
    runner thread) it does nothing and SIGTERM keeps its usual effect.

    Attributes:
        signum: The signal received while active, or ``None``.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> StopRequest:
        self.signum = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._record)
            self._installed = True
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous)
            self._installed = False

    def _record(self, signum: int, frame: Any) -> None:
        self.signum = signum
        _log.warning("received signal %d: stopping at the next safe point", signum)
