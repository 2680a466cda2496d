"""Run the engine's epochs and phases as Prefect tasks.

Inside a flow run the engine finds this orchestrator by itself, through the entry point
``trainflow.orchestrators: prefect = tasks.orchestrator:orchestrator_for_current_run``, so a
user's own ``@flow`` that builds a :class:`~trainer.Trainer` and calls ``train()`` gets the
``epoch-<n>`` / ``sample-<n>`` / ``optimize-<n>`` / ``snapshot-<n>`` task tree, the artifacts, a
summary line per epoch and the engine's warnings in the UI with no extra code. To choose it
explicitly (or to pass options)::

    trainer.orchestrator = PrefectOrchestrator(trainer)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from prefect.context import FlowRunContext

from tasks.epoch import PHASE_TASKS, run_epoch
from tasks.logging_bridge import SUMMARY, bridge_engine_logger
from tasks.reporting import (
    AVERAGE_RETURN,
    DEFAULT_INTERVAL_S,
    ENV_STEPS,
    EpochReporter,
    experiment_key,
)
from trainer.orchestration import Phase

T = TypeVar("T")

#: The metrics quoted in each epoch's summary line, when the row has them.
SUMMARY_METRICS = (AVERAGE_RETURN, ENV_STEPS)


class PrefectOrchestrator:
    """An :class:`~trainer.orchestration.Orchestrator` that makes each epoch and phase a task.

    Each epoch is the task run ``epoch-<n>``; its phases are the child task runs ``sample-<n>``,
    ``optimize-<n>`` and ``snapshot-<n>``. After every epoch the orchestrator logs one summary
    line to the run's logs and updates the experiment's artifacts (see
    :class:`~tasks.reporting.EpochReporter`). Outside a flow run Prefect runs the tasks as
    standalone task runs.

    Args:
        trainer: The trainer it orchestrates; it supplies the experiment's name (its snapshot
            directory) and the number of epochs for the progress bar. Default ``None``: artifacts
            keyed ``experiment-...`` and no progress bar.
        artifacts: Whether to publish the progress, table and learning-curve artifacts. Default
            ``True``.
        before_epoch: Called with the epoch index before each epoch starts; raise to stop
            training there (the flow passes its experiment lock's check). Default ``None``.
        table_interval_s: Least seconds between two versions of the metrics table and the
            learning curve (the progress bar moves every epoch, and the last epoch's table is
            always published). Default 10.
        epoch_logs: Also send the engine's INFO lines from inside the epochs (the tabular row,
            "Saving snapshot...", ...) to the run's logs. Default ``False``: one summary line per
            epoch plus every warning; ``debug.log`` and stdout still get every line.
    """

    def __init__(self, trainer: Any | None = None, *, artifacts: bool = True,
                 before_epoch: Callable[[int], None] | None = None,
                 table_interval_s: float = DEFAULT_INTERVAL_S, epoch_logs: bool = False) -> None:
        self.trainer = trainer
        self.artifacts = artifacts
        self.before_epoch = before_epoch
        self.table_interval_s = table_interval_s
        self.reporter: EpochReporter | None = None
        if artifacts:  # built now so that a bad option fails before any epoch runs
            self.reporter = self._new_reporter()
        self._log = bridge_engine_logger(task_level=logging.NOTSET if epoch_logs
                                         else logging.WARNING)

    def run_epoch(self, epoch: int, body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run the epoch as the task ``epoch-<epoch>``, log its summary, publish its metrics.

        Args:
            epoch: The epoch index.
            body: The engine's epoch body.

        Returns:
            The epoch's JSON-friendly metrics.
        """
        if self.before_epoch is not None:
            self.before_epoch(epoch)
        started = time.perf_counter()
        try:
            metrics = run_epoch(epoch, body) or {}
        except BaseException:
            if self.reporter is not None:  # the UI keeps the epochs that did finish
                self.reporter.close(timeout=5.0)
            raise
        n_epochs = self._n_epochs()
        self._log.info("%s", epoch_summary(epoch, n_epochs, metrics,
                                           time.perf_counter() - started), extra=SUMMARY)
        if self.reporter is not None:
            self.reporter.n_epochs = n_epochs  # resume(n_epochs=...) may have changed it
            self.reporter.report(epoch, metrics)
        return metrics

    def run_phase(self, phase: Phase, epoch: int, fn: Callable[[], T]) -> T:
        """Run one phase as the task ``<phase>-<epoch>``.

        Args:
            phase: ``"sample"``, ``"optimize"`` or ``"snapshot"``.
            epoch: The epoch index.
            fn: The engine's call for that phase.

        Returns:
            What ``fn`` returns.
        """
        return PHASE_TASKS[phase](epoch, fn)

    def _n_epochs(self) -> int | None:
        return getattr(getattr(self.trainer, "train_args", None), "n_epochs", None)

    def _new_reporter(self) -> EpochReporter:
        snapshot_dir = getattr(self.trainer, "snapshot_dir", None)
        config = getattr(self.trainer, "snapshot_config", None)
        return EpochReporter(
            experiment_key(snapshot_dir) if snapshot_dir else "experiment",
            n_epochs=self._n_epochs(), snapshot_dir=snapshot_dir,
            min_interval_s=self.table_interval_s,
            storage_options=getattr(config, "storage_options", None))


def epoch_summary(epoch: int, n_epochs: int | None, metrics: dict[str, Any],
                  seconds: float) -> str:
    """The one line per epoch that goes to the run's logs.

    Args:
        epoch: The epoch that finished (0-based).
        n_epochs: The run's total number of epochs, if known.
        metrics: The epoch's tabular row.
        seconds: The epoch's wall time.

    Returns:
        E.g. ``"epoch #3 (4 of 40) done in 0.31 s | Evaluation/AverageReturn 54.05 |
        TotalEnvSteps 12084"``.
    """
    of = f" ({epoch + 1} of {n_epochs})" if n_epochs else ""
    parts = [f"epoch #{epoch}{of} done in {seconds:.2f} s"]
    for key in SUMMARY_METRICS:
        value = metrics.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            parts.append(f"{key} {value:.6g}")
    return " | ".join(parts)


def orchestrator_for_current_run(trainer: Any) -> PrefectOrchestrator | None:
    """Entry-point factory: a :class:`PrefectOrchestrator` inside a flow run, else ``None``.

    Args:
        trainer: The trainer that is about to train.

    Returns:
        An orchestrator bound to ``trainer`` when called inside a Prefect flow run; ``None``
        otherwise, so a plain script keeps the engine's inline orchestrator.
    """
    if FlowRunContext.get() is None:
        return None
    return PrefectOrchestrator(trainer)
