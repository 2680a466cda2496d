"""Send the engine's Python logger (``trainflow``) to the Prefect run's logs.

Prefect can do this itself with ``PREFECT_LOGGING_EXTRA_LOGGERS=trainflow``, but only when the
setting is present before Prefect configures logging; a user's own flow rarely sets it. The bridge
adds Prefect's API log handler to the ``trainflow`` logger at run time instead, and drops records
emitted outside a flow or task run rather than warning about them.
"""

from __future__ import annotations

import logging

from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler

ENGINE_LOGGER = "trainflow"


class RunContextLogHandler(APILogHandler):
    """Prefect's API log handler that silently ignores records emitted outside a run."""

    def emit(self, record: logging.LogRecord) -> None:
        """Send ``record`` to the Prefect API if it was emitted inside a flow or task run."""
        if FlowRunContext.get() is None and TaskRunContext.get() is None:
            return
        super().emit(record)


def bridge_engine_logger(name: str = ENGINE_LOGGER) -> logging.Logger:
    """Attach a :class:`RunContextLogHandler` to the engine's logger, once.

    If the logger has no level of its own it takes the level of Prefect's ``prefect`` logger
    (``PREFECT_LOGGING_LEVEL``), so the engine's INFO lines (epoch tables, "Saving snapshot...")
    appear in the run's logs exactly when Prefect's own INFO lines do.

    Args:
        name: The logger to bridge. Default ``"trainflow"``, the engine's logger.

    Returns:
        The bridged logger.
    """
    logger = logging.getLogger(name)
    # APILogHandler, not just ours: PREFECT_LOGGING_EXTRA_LOGGERS may have added one already.
    if not any(isinstance(handler, APILogHandler) for handler in logger.handlers):
        logger.addHandler(RunContextLogHandler())
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.getLogger("prefect").getEffectiveLevel())
    return logger
