"""Guards around a training flow run: a restart budget and one live run per experiment."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from trainer.errors import ExperimentLockedError, TrainflowError

#: Restarts (flow retries plus automation reschedules) a flow run may use before it fails.
DEFAULT_MAX_RESTARTS = 5
#: Lifetime of the experiment lock without renewal, in seconds; renewed every third of it.
DEFAULT_LOCK_TTL_S = 60.0
_POLL_S = 2.0


class RestartLimitError(TrainflowError, RuntimeError):
    """A flow run was restarted more often than its ``max_restarts`` allows."""


def check_restart_budget(run_count: int, max_restarts: int, run_name: str = "this run") -> None:
    """Stop a crash loop: fail once a flow run has started more than ``max_restarts + 1`` times.

    Prefect counts every start of the same flow run in ``run_count``: the first one, each flow
    retry and each reschedule by the "restart crashed runs" automation. Raising here makes the run
    *Failed*, which (unlike *Crashed*) no automation reschedules.

    Args:
        run_count: ``prefect.runtime.flow_run.run_count`` (1 on the first start).
        max_restarts: Restarts allowed after the first start (0 or more).
        run_name: The flow run's name, for the message.

    Raises:
        RestartLimitError: If the budget is spent.
    """
    if run_count > max_restarts + 1:
        raise RestartLimitError(
            f"{run_name} has started {run_count} times, more than max_restarts={max_restarts} "
            "restarts allow: it keeps failing or crashing. Read the logs of the earlier attempts "
            "and fix the cause, then start a new run (`trainflow resume <snapshot_dir>`); it "
            "continues from the last complete snapshot.")


def default_owner() -> str:
    """Who holds an experiment lock: ``flow run <name> (<id>)``, else ``<host> pid <pid>``.

    The lease itself records the host and pid next to this.
    """
    from prefect.runtime import flow_run

    if flow_run.id:
        return f"flow run {flow_run.name} ({flow_run.id})"
    return f"{socket.gethostname()} pid {os.getpid()}"


class HeldLock:
    """The experiment lock of a running flow, renewed in the background.

    Attributes:
        lease: The held :class:`trainer.snapshots.Lease`.
        lost: The error of a renewal that found the lease taken over, else ``None``.
    """

    def __init__(self, lease: Any) -> None:
        self.lease = lease
        self.lost: Exception | None = None

    def check(self, epoch: int) -> None:
        """Raise if the lease was lost, before ``epoch`` writes anything.

        Raises:
            ExperimentLockedError: If another run took the experiment over.
        """
        if self.lost is not None:
            raise self.lost


@contextlib.contextmanager
def experiment_lock(snapshot_dir: str, storage_options: dict[str, Any] | None = None, *,
                    owner: str | None = None, ttl: float = DEFAULT_LOCK_TTL_S,
                    wait_s: float = 0.0) -> Iterator[HeldLock]:
    """Hold the experiment's snapshot-directory lease while training; renew it in the background.

    A second run on the same ``snapshot_dir`` is refused with
    :class:`~trainer.errors.ExperimentLockedError`, which names the holder, after waiting up to
    ``wait_s`` seconds; it never interleaves snapshots with the first. A holder that dies stops
    renewing, so its lease lapses after ``ttl`` seconds (a local lock is released by the kernel
    at once).

    Args:
        snapshot_dir: The experiment's snapshot directory (local path or fsspec URL).
        storage_options: fsspec options for it.
        owner: Holder description shown to a refused run. Default :func:`default_owner`.
        ttl: Lease lifetime in seconds without renewal. Default 60.
        wait_s: How long to keep trying while another run holds the lease. Default 0.

    Yields:
        The held lock; call its ``check(epoch)`` before each epoch.

    Raises:
        ExperimentLockedError: If another live run holds the experiment.
    """
    from trainer.snapshots import Lease, open_storage

    lease = Lease(open_storage(snapshot_dir, storage_options), owner or default_owner(), ttl)
    _acquire(lease, wait_s)
    held, stop = HeldLock(lease), threading.Event()
    renewer = threading.Thread(target=_renew_until, args=(held, stop, ttl / 3),
                               name="trainflow-lease-renewer", daemon=True)
    renewer.start()
    try:
        yield held
    finally:
        stop.set()
        renewer.join()
        lease.release()


def _acquire(lease: Any, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            lease.acquire()
            return
        except ExperimentLockedError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(min(_POLL_S, max(0.0, deadline - time.monotonic())))


def _renew_until(held: HeldLock, stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        try:
            held.lease.renew()
        except ExperimentLockedError as exc:
            held.lost = exc  # Taken over: the epoch loop stops before writing anything.
            return
        except Exception as exc:  # noqa: BLE001 - a missed renewal is retried; training goes on.
            logging.getLogger("trainflow").warning("could not renew the experiment lock: %s", exc)
