import logging
import time
import warnings
from uuid import UUID

import pytest
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.runtime import flow_run

from tasks.epoch import sample
from tasks.logging_bridge import (
    SUMMARY,
    EpochLinesFilter,
    QuietCompletedTaskRuns,
    RunContextLogHandler,
    bridge_engine_logger,
)
from tests.flows import prefect_api


def _record(msg: str, level: int = logging.INFO, **extra) -> logging.LogRecord:
    record = logging.LogRecord("prefect.task_runs", level, __file__, 1, msg, None, None)
    record.__dict__.update(extra)
    return record


class TestQuietCompletedTaskRuns:
    def test_drops_the_completed_line_of_trainflow_tasks_only(self):
        quiet = QuietCompletedTaskRuns()
        assert not quiet.filter(_record("Finished in state Completed()", task_name="sample"))
        assert not quiet.filter(_record("Finished in state Completed()", task_name="epoch"))
        assert quiet.filter(_record("Finished in state Completed()", task_name="my_task"))

    def test_keeps_failures_and_other_lines_of_trainflow_tasks(self):
        quiet = QuietCompletedTaskRuns()
        assert quiet.filter(_record("Finished in state Failed('boom')", logging.ERROR,
                                    task_name="optimize"))
        assert quiet.filter(_record("a user algorithm's own line", task_name="optimize"))


def test_records_outside_a_run_are_dropped_without_a_warning():
    handler = RunContextLogHandler()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Prefect's own handler warns "no flow run id" here
        handler.emit(_record("outside any run", logging.WARNING))


def test_bridging_twice_adds_one_handler_and_filter_and_updates_its_level():
    logger = bridge_engine_logger("trainflow.test-bridge")
    bridge_engine_logger("trainflow.test-bridge", task_level=logging.NOTSET)
    handlers = [h for h in logger.handlers if isinstance(h, RunContextLogHandler)]
    filters = [f for f in logger.filters if isinstance(f, EpochLinesFilter)]
    assert len(handlers) == 1 and len(filters) == 1 and filters[0].task_level == logging.NOTSET
    assert sum(isinstance(f, QuietCompletedTaskRuns)
               for f in logging.getLogger("prefect.task_runs").filters) == 1
    logger.removeHandler(handlers[0])
    logger.removeFilter(filters[0])


def test_outside_task_runs_the_engine_filter_keeps_every_record():
    epoch_lines = EpochLinesFilter()
    assert epoch_lines.filter(_record("restore details", logging.INFO))
    assert epoch_lines.filter(_record("a debug line", logging.DEBUG))


def run_logs(run_id: str, last: str) -> list:
    """The flow run's log rows, once the line ``last`` (logged last) has arrived."""
    prefect_api.logs(run_id, contains=last)
    time.sleep(1.0)  # logs ship in batches; let the batch holding ``last`` settle
    with get_client(sync_client=True) as client:
        return client.read_logs(log_filter=LogFilter(
            flow_run_id=LogFilterFlowRunId(any_=[UUID(run_id)])))


@pytest.mark.prefect
def test_only_warnings_summaries_and_run_level_lines_reach_the_api(prefect_harness, info_logs):
    engine = bridge_engine_logger()

    @task
    def other_task() -> None:
        pass

    def phase() -> None:
        engine.info("inside-info: the 20-line table")
        engine.warning("inside-warning")
        engine.info("inside-summary", extra=SUMMARY)

    @flow
    def logging_flow() -> str:
        engine.info("flow-level-info")
        sample(0, phase)
        other_task()
        engine.warning("last-line")
        return str(flow_run.id)

    run_id = logging_flow()
    rows = run_logs(run_id, "last-line")
    messages = [row.message for row in rows]
    assert "flow-level-info" in messages and "inside-warning" in messages
    assert "inside-summary" in messages
    assert not [m for m in messages if m.startswith("inside-info")]
    runs = {run.id: run.name for run in prefect_api.task_runs(run_id, expected=2)}
    finished = sorted(runs[row.task_run_id] for row in rows
                      if row.task_run_id and row.message.startswith("Finished in state Completed"))
    assert [name.rsplit("-", 1)[0] for name in finished] == ["other_task"]
