"""Run the engine's epochs and phases as Prefect tasks.

Inside a flow run the engine finds this orchestrator by itself, through the entry point
``trainflow.orchestrators: prefect = tasks.orchestrator:orchestrator_for_current_run``, so a
user's own ``@flow`` that builds a :class:`~trainer.Trainer` and calls ``train()`` gets the
``epoch-<n>`` / ``sample-<n>`` / ``optimize-<n>`` / ``snapshot-<n>`` task tree, the artifacts and
the engine's logs in the UI with no extra code. To choose it explicitly (or to pass options)::

    trainer.orchestrator = PrefectOrchestrator(trainer)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from prefect.context import FlowRunContext

from tasks.epoch import PHASE_TASKS, run_epoch
from tasks.logging_bridge import bridge_engine_logger
from tasks.reporting import EpochReporter, experiment_key
from trainer.orchestration import Phase

T = TypeVar("T")


class PrefectOrchestrator:
    """An :class:`~trainer.orchestration.Orchestrator` that makes each epoch and phase a task.

    Each epoch is the task run ``epoch-<n>``; its phases are the child task runs ``sample-<n>``,
    ``optimize-<n>`` and ``snapshot-<n>``. After every epoch the orchestrator updates the
    experiment's artifacts (see :class:`~tasks.reporting.EpochReporter`). Outside a flow run
    Prefect runs the tasks as standalone task runs.

    Args:
        trainer: The trainer it orchestrates; it supplies the experiment's name (its snapshot
            directory) and the number of epochs for the progress bar. Default ``None``: artifacts
            keyed ``experiment-...`` and no progress bar.
        artifacts: Whether to publish the progress, table and learning-curve artifacts. Default
            ``True``.
        before_epoch: Called with the epoch index before each epoch starts; raise to stop
            training there (the flow passes its experiment lock's check). Default ``None``.
    """

    def __init__(self, trainer: Any | None = None, *, artifacts: bool = True,
                 before_epoch: Callable[[int], None] | None = None) -> None:
        self.trainer = trainer
        self.artifacts = artifacts
        self.before_epoch = before_epoch
        self.reporter: EpochReporter | None = None
        bridge_engine_logger()

    def run_epoch(self, epoch: int, body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run the epoch as the task ``epoch-<epoch>`` and publish its metrics.

        Args:
            epoch: The epoch index.
            body: The engine's epoch body.

        Returns:
            The epoch's JSON-friendly metrics.
        """
        if self.before_epoch is not None:
            self.before_epoch(epoch)
        metrics = run_epoch(epoch, body)
        if self.artifacts:
            self._reporter().report(epoch, metrics or {})
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

    def _reporter(self) -> EpochReporter:
        if self.reporter is None:
            snapshot_dir = getattr(self.trainer, "snapshot_dir", None)
            train_args = getattr(self.trainer, "train_args", None)
            config = getattr(self.trainer, "_snapshot_config", None)
            self.reporter = EpochReporter(
                experiment_key(snapshot_dir) if snapshot_dir else "experiment",
                n_epochs=getattr(train_args, "n_epochs", None), snapshot_dir=snapshot_dir,
                storage_options=getattr(config, "storage_options", None))
        return self.reporter


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
