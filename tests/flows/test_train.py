import json
import logging

import pytest

from flows.guards import RestartLimitError
from flows.train import train_experiment
from tasks.reporting import experiment_key
from tests.flows import prefect_api
from trainer import SnapshotConfig, Trainer

pytestmark = pytest.mark.prefect
TOY = "tests.flows.toy_algo:build"


@pytest.fixture
def flow_logs_at_info():
    """Let the flow's INFO lines (e.g. "Resumed ...") reach the API despite the WARNING default."""
    logger = logging.getLogger("prefect.flow_runs")
    level = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(level)


def _restored(snapshot_dir: str) -> Trainer:
    trainer = Trainer(SnapshotConfig(snapshot_dir))
    trainer.restore(snapshot_dir)
    return trainer


def test_fault_at_epoch_k_retries_and_resumes_at_k(prefect_harness, tmp_path, flow_logs_at_info):
    snapshot_dir, marker = str(tmp_path / "exp"), tmp_path / "fault-fired"
    flow = train_experiment.with_options(retries=1, retry_delay_seconds=0)
    state = flow(
        snapshot_dir=snapshot_dir,
        env="CartPole-v1",
        algo=TOY,
        n_epochs=5,
        batch_size=100,
        algo_kwargs={"fail_at_epoch": 2, "fault_marker": str(marker)},
        return_state=True,
    )

    assert state.is_completed(), state.message
    assert marker.read_text() == "2"  # the fault did fire in attempt 1
    run_id = state.state_details.flow_run_id
    assert prefect_api.flow_run(run_id).run_count == 2

    runs = prefect_api.task_runs(run_id, expected=4 * 5 + 2 * 1 + 1)
    epoch_runs = sorted((r.name, r.state.type.value) for r in runs if r.name.startswith("epoch"))
    assert epoch_runs == [
        ("epoch-0", "COMPLETED"),
        ("epoch-1", "COMPLETED"),
        ("epoch-2", "COMPLETED"),
        ("epoch-2", "FAILED"),
        ("epoch-3", "COMPLETED"),
        ("epoch-4", "COMPLETED"),
    ]
    messages = prefect_api.logs(run_id, contains="Resumed")
    assert any(
        "snapshot of epoch 1: continuing at epoch 2 of 5 (attempt 2)" in m for m in messages
    ), messages

    # Every epoch counted exactly once: in the algorithm, in the stats and in the metrics table.
    trainer = _restored(snapshot_dir)
    algo = trainer._algo
    assert algo.optimize_calls == [0, 1, 2, 3, 4]
    assert trainer.stats.total_epoch == 4
    table = [
        a
        for a in prefect_api.artifacts(run_id)
        if a.key == f"{experiment_key(snapshot_dir)}-metrics"
    ]
    rows = json.loads(max(table, key=lambda a: a.created).data)
    assert [row["Epoch"] for row in rows] == [0, 1, 2, 3, 4]
    assert trainer.stats.total_env_steps == sum(row["EpochEnvSteps"] for row in rows)
    assert state.result() == pytest.approx(rows[-1]["Evaluation/AverageReturn"])


def test_restart_budget_ends_a_crash_loop_with_a_failure(prefect_harness, tmp_path):
    snapshot_dir = str(tmp_path / "exp")
    flow = train_experiment.with_options(retries=1, retry_delay_seconds=0)
    state = flow(
        snapshot_dir=snapshot_dir,
        env="CartPole-v1",
        algo=TOY,
        n_epochs=3,
        batch_size=50,
        max_restarts=0,
        algo_kwargs={"fail_at_epoch": 1, "fault_marker": str(tmp_path / "m")},
        return_state=True,
    )

    assert state.is_failed()
    with pytest.raises(RestartLimitError, match=r"started 2 times, more than max_restarts=0"):
        state.result()
    # It stopped instead of using its remaining retries; the snapshot of epoch 0 is intact.
    assert prefect_api.flow_run(state.state_details.flow_run_id).run_count == 2
    assert Trainer(SnapshotConfig(snapshot_dir)).latest_snapshot_epoch() == 0


def test_new_run_needs_env_and_algo(prefect_harness, tmp_path):
    flow = train_experiment.with_options(retries=0)
    state = flow(
        snapshot_dir=str(tmp_path / "empty"), env=None, algo=TOY, n_epochs=1, return_state=True
    )
    assert state.is_failed()
    with pytest.raises(ValueError, match=r"env=None is only valid when snapshot_dir holds a "):
        state.result()
