import json
import logging
import threading

import pytest
from prefect import flow
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from tasks import PrefectOrchestrator, experiment_key, orchestrator_for_current_run
from tasks.epoch import PHASE_TASKS, run_epoch, sample
from tests.flows import prefect_api
from tests.flows.toy_algo import LinearHillClimb
from trainer import GymEnv, SnapshotConfig, Trainer
from trainer.orchestration import Orchestrator

PHASES = ("sample", "optimize", "snapshot")


def test_outside_a_flow_run_the_factory_returns_none():
    assert orchestrator_for_current_run(object()) is None


def test_prefect_orchestrator_satisfies_the_engine_protocol():
    assert isinstance(PrefectOrchestrator(), Orchestrator)


@pytest.mark.parametrize("task", [run_epoch, *PHASE_TASKS.values()], ids=lambda t: t.name)
def test_tasks_neither_hash_nor_persist_their_arguments(task):
    assert task.cache_policy is NO_CACHE
    assert task.persist_result is False
    assert task.retries == 0


@pytest.mark.prefect
def test_users_own_flow_gets_epoch_task_tree_and_artifacts(prefect_harness, tmp_path, caplog):
    snapshot_dir = str(tmp_path / "my-exp")
    unpicklable = threading.Lock()

    @flow
    def my_training_flow() -> tuple[float, str]:
        trainer = Trainer(SnapshotConfig(snapshot_dir))
        env = GymEnv("CartPole-v1")
        trainer.setup(LinearHillClimb(env), env)
        result = trainer.train(n_epochs=3, batch_size=100)
        # A task argument that cannot be pickled: hashing it would log an ERROR traceback.
        sample(99, lambda: unpicklable)
        return result, str(flow_run.id)

    prefect_logger = logging.getLogger("prefect")
    prefect_logger.addHandler(caplog.handler)
    try:
        result, run_id = my_training_flow()
    finally:
        prefect_logger.removeHandler(caplog.handler)

    assert isinstance(result, float)
    runs = prefect_api.task_runs(run_id, expected=13)
    by_name = {run.name: run for run in runs}
    epochs = [f"epoch-{e}" for e in range(3)]
    assert sorted(by_name) == sorted(epochs + [f"{p}-{e}" for p in PHASES for e in range(3)]
                                     + ["sample-99"])
    assert all(run.state.is_completed() for run in runs)
    for e in range(3):
        assert prefect_api.parent_id(by_name[f"epoch-{e}"]) is None
        for phase in PHASES:
            assert prefect_api.parent_id(by_name[f"{phase}-{e}"]) == by_name[f"epoch-{e}"].id
    assert not [r for r in caplog.records if "cache key" in r.getMessage()]

    key = experiment_key(snapshot_dir)
    found = prefect_api.artifacts(run_id)
    progress = [a for a in found if a.key == f"{key}-progress"]
    assert len(progress) == 1 and progress[0].data == 100.0
    tables = sorted((a for a in found if a.key == f"{key}-metrics"), key=lambda a: a.created)
    assert 2 <= len(tables) <= 3  # the first and last epoch's, at most one per epoch
    rows = json.loads(tables[-1].data)
    assert [row["Epoch"] for row in rows] == [0, 1, 2]
    assert rows[-1]["Evaluation/AverageReturn"] == pytest.approx(result)
    curves = [a for a in found if a.key == f"{key}-learning-curve"]
    assert len(curves) == len(tables)
    assert all("data:image/svg+xml;base64," in c.data for c in curves)


class StepEpochsAlgo:
    """A garage-style custom algorithm that drives ``step_epochs()`` itself."""

    def __init__(self, policy, sampler):
        self.policy, self._sampler = policy, sampler

    def train(self, trainer):
        for epoch in trainer.step_epochs():
            trainer.step_episode = trainer.obtain_episodes(epoch)
            trainer.step_itr += 1


@pytest.mark.prefect
def test_step_epochs_algorithms_get_sample_and_snapshot_tasks_only(prefect_harness, tmp_path):
    from flows.experiments import build_algo, make_env
    from trainer import TFTrainer

    @flow
    def custom_flow() -> str:
        with TFTrainer(SnapshotConfig(str(tmp_path / "exp"))) as trainer:
            env = make_env("CartPole-v1")
            vpg = build_algo("VPG", env, None, {"hidden_sizes": [4]})
            trainer.setup(StepEpochsAlgo(vpg.policy, vpg._sampler), env)
            trainer.train(n_epochs=2, batch_size=100)
        return str(flow_run.id)

    run_id = custom_flow()
    names = sorted(r.name for r in prefect_api.task_runs(run_id, expected=4))
    assert names == ["sample-0", "sample-1", "snapshot-0", "snapshot-1"]


def test_epoch_summary_quotes_progress_time_return_and_steps():
    from tasks.orchestrator import epoch_summary

    line = epoch_summary(3, 40, {"Evaluation/AverageReturn": 54.0533, "TotalEnvSteps": 12084,
                                 "Other": 1.0}, 0.3149)
    assert line == ("epoch #3 (4 of 40) done in 0.31 s | Evaluation/AverageReturn 54.0533 | "
                    "TotalEnvSteps 12084")
    assert epoch_summary(0, None, {}, 1.0) == "epoch #0 done in 1.00 s"


def test_a_bad_table_interval_fails_before_any_epoch_runs():
    from trainer.errors import ConfigError

    with pytest.raises(ConfigError, match="min_interval_s=-5"):
        PrefectOrchestrator(table_interval_s=-5)


@pytest.mark.prefect
def test_one_summary_line_per_epoch_and_a_failed_run_keeps_its_finished_epochs(
        prefect_harness, tmp_path, info_logs):
    from tests.tasks.test_logging_bridge import run_logs

    snapshot_dir = str(tmp_path / "failing-exp")

    @flow
    def failing_flow() -> str:
        trainer = Trainer(SnapshotConfig(snapshot_dir))
        env = GymEnv("CartPole-v1")
        # 0.3 s epochs: epoch 0's table is out long before epoch 1 ends.
        trainer.setup(LinearHillClimb(env, fail_at_epoch=2, sleep_s=0.3,
                                      fault_marker=str(tmp_path / "fired")), env)
        with pytest.raises(RuntimeError, match="injected fault"):
            trainer.train(n_epochs=6, batch_size=100)
        logging.getLogger("trainflow").warning("flow-done")
        return str(flow_run.id)

    run_id = failing_flow()
    messages = [row.message for row in run_logs(run_id, "flow-done")]
    summaries = [m for m in messages if " done in " in m]
    assert [m.split(" done in ")[0] for m in summaries] == ["epoch #0 (1 of 6)",
                                                            "epoch #1 (2 of 6)"]
    assert all("Evaluation/AverageReturn" in m for m in summaries)
    assert not [m for m in messages if "tabular row" in m or "Saving snapshot" in m]
    tables = sorted((a for a in prefect_api.artifacts(run_id)
                     if a.key == f"{experiment_key(snapshot_dir)}-metrics"),
                    key=lambda a: a.created)
    # Epoch 0's table went out at once, epoch 1's is held by the 10 s interval until the
    # failure publishes what finished.
    assert [[row["Epoch"] for row in json.loads(a.data)] for a in tables] == [[0], [0, 1]]
