"""The Prefect tasks of one epoch: ``epoch-<n>`` and its children sample, optimize, snapshot.

Each task wraps exactly one engine call, handed over as a zero-argument function by the engine's
orchestration seam (:mod:`trainer.orchestration`). The trainer, TensorFlow objects and episode
batches stay inside those closures: nothing is hashed (``cache_policy=NO_CACHE``) or persisted
(``persist_result=False``), so a task call costs a few milliseconds whatever the model's size.
Weights live in the trainer's snapshots, never in Prefect results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE

from trainer.orchestration import Phase

T = TypeVar("T")

# The engine calls each phase exactly once (orchestration contract), so no task retries here: a
# failed epoch is re-run by the flow, which restores the last snapshot first.
_TASK_OPTIONS: dict[str, Any] = {
    "cache_policy": NO_CACHE,
    "persist_result": False,
    "retries": 0,
}


@task(name="epoch", task_run_name="epoch-{epoch}", **_TASK_OPTIONS)
def run_epoch(epoch: int, body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one epoch (its sample, optimize and snapshot phases run as child tasks).

    Args:
        epoch: The epoch index (0-based); it names the task run.
        body: The engine's epoch body; returns the epoch's JSON-friendly tabular row.

    Returns:
        The epoch's metrics, e.g. ``{"Epoch": 3, "Evaluation/AverageReturn": 21.5, ...}``.
    """
    return body()


@task(name="sample", task_run_name="sample-{epoch}", cache_result_in_memory=False,
      **_TASK_OPTIONS)
def sample(epoch: int, fn: Callable[[], T]) -> T:
    """Obtain the epoch's episodes (``algo.sample`` or ``trainer.obtain_episodes``).

    Args:
        epoch: The epoch index; it names the task run.
        fn: The engine's sampling call.

    Returns:
        What ``fn`` returns (an ``EpisodeBatch``, handed back by reference, never serialized).
    """
    return fn()


@task(name="optimize", task_run_name="optimize-{epoch}", **_TASK_OPTIONS)
def optimize(epoch: int, fn: Callable[[], T]) -> T:
    """Run the algorithm's update on the epoch's episodes (``algo.optimize``).

    Args:
        epoch: The epoch index; it names the task run.
        fn: The engine's optimisation call.

    Returns:
        What ``fn`` returns: the epoch's tabular metrics.
    """
    return fn()


@task(name="snapshot", task_run_name="snapshot-{epoch}", **_TASK_OPTIONS)
def snapshot(epoch: int, fn: Callable[[], T]) -> T:
    """Save the epoch's snapshot (``trainer.save``); the snapshot mode decides what is written.

    Args:
        epoch: The epoch index; it names the task run.
        fn: The engine's save call.

    Returns:
        What ``fn`` returns (``None`` for ``trainer.save``).
    """
    return fn()


#: The task that runs each phase of the engine's epoch seam.
PHASE_TASKS: dict[Phase, Any] = {"sample": sample, "optimize": optimize, "snapshot": snapshot}
