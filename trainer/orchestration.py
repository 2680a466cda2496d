"""The seam where an orchestrator (e.g. Prefect, in ``tasks/``) wraps each epoch and its phases.

The engine runs every epoch as ``run_epoch(epoch, body)`` and, inside it, three phases as
``run_phase(phase, epoch, fn)``: ``sample``, ``optimize`` and ``snapshot``. The default
orchestrator just calls the functions. An orchestrator may time them, report them, or run each
as a task; it must call each function exactly once, in the calling thread, and return its result
or propagate its exception.

Orchestrators are found without the engine importing them: packages register a factory under the
entry-point group ``trainflow.orchestrators``. A factory is called with the trainer when training
starts and returns an orchestrator or ``None`` (e.g. "not inside a Prefect flow run"). Factories
are only consulted when their top-level package is already imported, so a plain engine run never
imports an orchestration framework.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

T = TypeVar("T")
Phase = Literal["sample", "optimize", "snapshot"]
PHASES: tuple[Phase, ...] = ("sample", "optimize", "snapshot")
ENTRY_POINT_GROUP = "trainflow.orchestrators"

_log = logging.getLogger(__name__)


@runtime_checkable
class Orchestrator(Protocol):
    """Wraps epochs and their phases. See the module docstring for the contract."""

    def run_epoch(self, epoch: int, body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run one epoch's ``body`` and return its JSON-friendly metrics."""
        ...

    def run_phase(self, phase: Phase, epoch: int, fn: Callable[[], T]) -> T:
        """Run one phase of an epoch and return what ``fn`` returns."""
        ...


class InlineOrchestrator:
    """The default: calls each function directly."""

    def run_epoch(self, epoch: int, body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Call ``body``."""
        return body()

    def run_phase(self, phase: Phase, epoch: int, fn: Callable[[], T]) -> T:
        """Call ``fn``."""
        return fn()


def discover_orchestrator(trainer: Any) -> Orchestrator | None:
    """Ask the registered orchestrator factories whether one applies to this run.

    Args:
        trainer: The trainer that is about to train.

    Returns:
        The first orchestrator a factory returns, or ``None``.
    """
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        # Only ask frameworks that the process already uses (e.g. prefect inside a flow).
        framework = ep.name.split(".")[0]
        if framework not in sys.modules:
            continue
        try:
            factory = ep.load()
        except ImportError as exc:  # A broken optional integration must not stop training.
            _log.warning("orchestrator entry point %r could not be loaded: %s", ep.value, exc)
            continue
        orchestrator = factory(trainer)
        if orchestrator is not None:
            return orchestrator
    return None
