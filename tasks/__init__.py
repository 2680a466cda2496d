"""Prefect tasks for trainflow: every epoch is a task with sample, optimize and snapshot children.

See :mod:`tasks.orchestrator` for how the engine finds them inside a flow run.
"""

from tasks.epoch import optimize, run_epoch, sample, snapshot
from tasks.orchestrator import PrefectOrchestrator, orchestrator_for_current_run
from tasks.reporting import EpochReporter, experiment_key

__all__ = [
    "EpochReporter",
    "PrefectOrchestrator",
    "experiment_key",
    "optimize",
    "orchestrator_for_current_run",
    "run_epoch",
    "sample",
    "snapshot",
]
