"""Send the engine's Python logger (``trainflow``) to the Prefect run's logs, concisely.

Prefect can ship a logger itself with ``PREFECT_LOGGING_EXTRA_LOGGERS=trainflow``, but only when
the setting is present before Prefect configures logging; a user's own flow rarely sets it. The
bridge adds Prefect's API log handler to the ``trainflow`` logger at run time instead.

Every log record shipped to the API costs the training thread a record, Prefect's console
formatting and a queue hop (0.2 to 0.4 ms each, measured on a 2-core machine), and costs the API
server an insert on the same CPUs. The engine logs about nine INFO records per epoch (the 20-line
tabular row, "Saving snapshot...", "Saved", "Time", ...) and Prefect one "Finished in state
Completed()" per task run, four per epoch: lines the UI already shows better (the metrics table
artifact, the task runs' states). So by default the bridge ships:

* every record of WARNING or above;
* INFO records emitted outside a task run: run-level lines such as the restore details;
* the orchestrator's one-line summary of each epoch (records marked with :data:`SUMMARY`).

The engine's own outputs are unchanged: ``debug.log``, stdout and ``progress.csv`` get every line.
``PrefectOrchestrator(epoch_logs=True)`` ships every engine line again.
"""

from __future__ import annotations

import logging

from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler

ENGINE_LOGGER = "trainflow"

#: ``extra`` that marks a record the bridge always ships, e.g. ``log.info(msg, extra=SUMMARY)``.
SUMMARY: dict[str, bool] = {"trainflow_summary": True}

#: Names of the tasks in :mod:`tasks.epoch`; their "Finished in state Completed()" lines are quiet.
QUIET_TASKS = frozenset({"epoch", "sample", "optimize", "snapshot"})


class RunContextLogHandler(APILogHandler):
    """Prefect's API log handler that silently ignores records emitted outside a run."""

    def emit(self, record: logging.LogRecord) -> None:
        """Send ``record`` to the Prefect API if it was emitted inside a flow or task run."""
        if FlowRunContext.get() is None and TaskRunContext.get() is None:
            return
        super().emit(record)


class EpochLinesFilter(logging.Filter):
    """Drops the engine's records below ``task_level`` emitted inside a Prefect task run.

    It sits on the engine's logger, not on the API handler, so the dropped lines also skip
    Prefect's console handler: the experiment logger prints them to stdout already, and
    formatting them twice costs the training thread about 2 ms per epoch. Records marked with
    :data:`SUMMARY` always pass, and so does everything outside task runs.

    Args:
        task_level: The least level that passes inside a task run. Default ``logging.WARNING``;
            ``logging.NOTSET`` lets every record pass (epoch tables included).
    """

    def __init__(self, task_level: int = logging.WARNING) -> None:
        super().__init__()
        self.task_level = task_level

    def filter(self, record: logging.LogRecord) -> bool:
        """Return ``False`` for a record that the rules above drop."""
        return (record.levelno >= self.task_level
                or getattr(record, "trainflow_summary", False)
                or TaskRunContext.get() is None)


class QuietCompletedTaskRuns(logging.Filter):
    """Drops Prefect's "Finished in state Completed()" INFO line of trainflow's own task runs.

    The task run's state and duration are already on the flow-run graph; the line only costs a
    log record per task run. Failures (logged at ERROR) and every line of other tasks pass.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Return ``False`` for a completed trainflow task run's "Finished in state" line."""
        return not (record.levelno < logging.WARNING
                    and getattr(record, "task_name", None) in QUIET_TASKS
                    and isinstance(record.msg, str)
                    and record.msg.startswith("Finished in state Completed"))


def bridge_engine_logger(name: str = ENGINE_LOGGER, *,
                         task_level: int = logging.WARNING) -> logging.Logger:
    """Ship the engine's logger to the run's logs, once, and quiet trainflow's task runs.

    Adds a :class:`RunContextLogHandler` and an :class:`EpochLinesFilter` to the logger and a
    :class:`QuietCompletedTaskRuns` filter to Prefect's ``prefect.task_runs`` logger. If the
    logger has no level of its own it takes the level of Prefect's ``prefect`` logger
    (``PREFECT_LOGGING_LEVEL``), so the engine's run-level INFO lines and epoch summaries appear
    in the run's logs exactly when Prefect's own INFO lines do. Calling it again only updates
    ``task_level``.

    Args:
        name: The logger to bridge. Default ``"trainflow"``, the engine's logger.
        task_level: The least level of the engine's records kept inside a task run (see
            :class:`EpochLinesFilter`). Default ``logging.WARNING``.

    Returns:
        The bridged logger.
    """
    logger = logging.getLogger(name)
    # APILogHandler, not just ours: PREFECT_LOGGING_EXTRA_LOGGERS may have added one already.
    if not any(isinstance(handler, APILogHandler) for handler in logger.handlers):
        logger.addHandler(RunContextLogHandler())
    epoch_filters = [f for f in logger.filters if isinstance(f, EpochLinesFilter)]
    if not epoch_filters:
        epoch_filters.append(EpochLinesFilter())
        logger.addFilter(epoch_filters[0])
    for epoch_filter in epoch_filters:
        epoch_filter.task_level = task_level
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.getLogger("prefect").getEffectiveLevel())
    task_runs = logging.getLogger("prefect.task_runs")
    if not any(isinstance(f, QuietCompletedTaskRuns) for f in task_runs.filters):
        task_runs.addFilter(QuietCompletedTaskRuns())
    return logger
