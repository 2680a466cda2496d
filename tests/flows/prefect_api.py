"""Read what a flow run left on the Prefect API (task runs, artifacts, logs) in tests.

Prefect 3 reports task runs as events that the server records asynchronously, so readers poll
until what they expect has arrived (or a deadline passes and the test shows what did arrive).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)


def poll(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 60.0) -> Any:
    """Call ``read`` until ``done(result)`` or ``timeout`` seconds pass; return the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = read()
        if done(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def task_runs(flow_run_id: UUID | str, expected: int, timeout: float = 60.0) -> list[Any]:
    """The flow run's task runs, once at least ``expected`` of them are in a final state."""
    def read() -> list[Any]:
        with get_client(sync_client=True) as client:
            return client.read_task_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[UUID(str(flow_run_id))])))

    return poll(read, lambda runs: sum(r.state is not None and r.state.is_final()
                                       for r in runs) >= expected, timeout)


def artifacts(flow_run_id: UUID | str) -> list[Any]:
    """Every artifact (all versions) the flow run created."""
    with get_client(sync_client=True) as client:
        return client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(str(flow_run_id))])))


def logs(flow_run_id: UUID | str, contains: str, timeout: float = 30.0) -> list[str]:
    """The flow run's log messages, once one of them contains ``contains``."""
    def read() -> list[str]:
        with get_client(sync_client=True) as client:
            return [log.message for log in client.read_logs(log_filter=LogFilter(
                flow_run_id=LogFilterFlowRunId(any_=[UUID(str(flow_run_id))])))]

    return poll(read, lambda messages: any(contains in m for m in messages), timeout)


def flow_run(flow_run_id: UUID | str) -> Any:
    """The flow run as the API has it now."""
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(str(flow_run_id)))


def parent_id(task_run: Any) -> UUID | None:
    """The id of a task run's parent task run (Prefect's ``__parents__`` input), if any."""
    parents = task_run.task_inputs.get("__parents__", [])
    return parents[0].id if parents else None
