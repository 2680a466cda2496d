"""Trainer: garage's API point by point, plus trainflow's improvements (exact resume, logs)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from tests.trainer.numpy_agents import (
    GeneratorRandomSearch,
    LinearSoftmaxPolicy,
    NoSamplerAlgo,
    RandomSearch,
)
from trainer import (
    ExperimentStats,
    GymEnv,
    NotSetupError,
    SnapshotConfig,
    Snapshotter,
    TrainArgs,
    Trainer,
    set_seed,
)
from trainer.errors import ConfigError, TrainingInterrupted
from trainer.samplers import LocalSampler

REPO = Path(__file__).resolve().parents[2]
BATCH = 200


def make_trainer(snapshot_dir: Path, mode: str = "last", gap: int = 1, seed: int = 3,
                 algo_cls: type = RandomSearch, n_workers: int = 1) -> Trainer:
    set_seed(seed)
    env = GymEnv(gym.make("CartPole-v1", max_episode_steps=100))
    policy = LinearSoftmaxPolicy(env.spec, seed=seed)
    sampler = LocalSampler(agents=policy, envs=env, max_episode_length=100, seed=seed,
                           n_workers=n_workers)
    algo = algo_cls(env.spec, policy, sampler, seed=seed)
    trainer = Trainer(SnapshotConfig(str(snapshot_dir), mode, gap))
    trainer.setup(algo, env)
    return trainer


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class TestRecords:
    def test_experiment_stats_fields(self):
        stats = ExperimentStats(total_epoch=4, total_itr=5, total_env_steps=6, last_episode=None)
        assert (stats.total_epoch, stats.total_itr, stats.total_env_steps) == (4, 5, 6)
        assert ExperimentStats().total_env_steps == 0

    def test_train_args_fields(self):
        args = TrainArgs(n_epochs=3, batch_size=10, plot=False, store_episodes=True,
                         pause_for_plot=False, start_epoch=1)
        assert args.start_epoch == 1 and args.store_episodes


class TestConstruction:
    def test_none_config_gives_default_dir(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        trainer = Trainer(None)
        assert trainer.snapshot_dir == os.path.join(str(tmp_path), "data", "local", "experiment")

    def test_object_without_snapshot_fields_is_rejected(self):
        with pytest.raises(ConfigError, match="snapshot_dir"):
            Trainer(object())

    def test_invalid_mode_is_rejected_before_anything_is_written(self, tmp_path):
        with pytest.raises(ValueError):
            Trainer(SnapshotConfig(str(tmp_path / "exp"), "last", 2))
        assert not (tmp_path / "exp" / "params.pkl").exists()


class TestNotSetup:
    def test_train_before_setup_raises(self, tmp_path):
        with pytest.raises(NotSetupError, match="setup"):
            Trainer(SnapshotConfig(str(tmp_path))).train(1)

    def test_save_before_setup_raises(self, tmp_path):
        with pytest.raises(NotSetupError, match="before saving"):
            Trainer(SnapshotConfig(str(tmp_path))).save(0)

    def test_resume_before_restore_raises(self, tmp_path):
        with pytest.raises(NotSetupError, match="restore"):
            Trainer(SnapshotConfig(str(tmp_path))).resume()


class TestTrain:
    def test_setup_without_sampler_runs_epochs(self, tmp_path):
        algo = NoSamplerAlgo()
        trainer = Trainer(SnapshotConfig(str(tmp_path)))
        trainer.setup(algo, None)
        trainer.train(n_epochs=5)
        assert algo.epochs_seen == [0, 1, 2, 3, 4]
        assert trainer.stats.total_epoch == 4
        assert trainer.stats.total_itr == 5

    def test_returns_last_epoch_average_return_and_counts_steps(self, tmp_path):
        trainer = make_trainer(tmp_path)
        seen = []
        original = trainer._sampler.obtain_samples

        def spy(*args, **kwargs):
            batch = original(*args, **kwargs)
            seen.append(batch)
            return batch

        trainer._sampler.obtain_samples = spy
        result = trainer.train(n_epochs=3, batch_size=BATCH)
        last = seen[-1]
        expected = np.mean([ep.rewards.sum() for ep in last.split()])
        assert result == pytest.approx(expected)
        assert trainer.total_env_steps == sum(int(b.lengths.sum()) for b in seen)
        assert all(b.lengths.sum() >= BATCH for b in seen)
        assert trainer.stats.total_epoch == 2 and trainer.step_itr == 3

    def test_total_env_steps_is_settable(self, tmp_path):
        trainer = make_trainer(tmp_path)
        trainer.total_env_steps = 42
        assert trainer.stats.total_env_steps == 42

    @pytest.mark.parametrize("n_epochs", [0, -1, 1.5, "10", None, True])
    def test_bad_n_epochs_is_a_clear_error(self, tmp_path, n_epochs):
        trainer = make_trainer(tmp_path / "exp")
        with pytest.raises(ConfigError, match="n_epochs"):
            trainer.train(n_epochs, batch_size=BATCH)
        assert not list((tmp_path / "exp").glob("*.pkl"))

    @pytest.mark.parametrize("batch_size", [0, -5, 2.5, "4000"])
    def test_bad_batch_size_is_a_clear_error(self, tmp_path, batch_size):
        trainer = make_trainer(tmp_path)
        with pytest.raises(ConfigError, match="batch_size"):
            trainer.train(2, batch_size=batch_size)

    def test_store_episodes_keeps_last_epoch_batch(self, tmp_path):
        trainer = make_trainer(tmp_path)
        trainer.train(2, batch_size=BATCH, store_episodes=True)
        assert trainer.stats.last_episode is trainer.step_episode
        trainer2 = make_trainer(tmp_path / "b")
        trainer2.train(2, batch_size=BATCH)
        assert trainer2.stats.last_episode is None

    def test_writes_experiment_json(self, tmp_path):
        trainer = make_trainer(tmp_path)
        trainer.train(1, batch_size=BATCH)
        described = json.loads((tmp_path / "experiment.json").read_text())
        assert described["train_args"]["n_epochs"] == 1
        assert described["algo"]["$type"].endswith("RandomSearch")

    def test_generator_algorithm_gets_the_same_bookkeeping(self, tmp_path):
        trainer = make_trainer(tmp_path, algo_cls=GeneratorRandomSearch)
        trainer.train(3, batch_size=BATCH)
        rows = read_csv(tmp_path / "progress.csv")
        assert [int(r["Epoch"]) for r in rows] == [0, 1, 2]
        assert int(rows[-1]["TotalEnvSteps"]) == trainer.total_env_steps
        assert Snapshotter(str(tmp_path)).load(str(tmp_path))["stats"].total_epoch == 2

    def test_disabled_logging_still_snapshots(self, tmp_path):
        trainer = make_trainer(tmp_path)
        trainer.enable_logging = False
        trainer.train(2, batch_size=BATCH)
        assert not (tmp_path / "progress.csv").exists()
        assert trainer.latest_snapshot_epoch() == 1

    def test_get_env_copy_is_an_equal_copy(self, tmp_path):
        trainer = make_trainer(tmp_path)
        copy = trainer.get_env_copy()
        assert copy is not trainer._env and copy.spec == trainer._env.spec


class TestObtainEpisodes:
    def test_without_sampler(self, tmp_path):
        trainer = Trainer(SnapshotConfig(str(tmp_path)))
        trainer.setup(NoSamplerAlgo(), None)
        with pytest.raises(ValueError, match="trainer was not initialized with `sampler`"):
            trainer.obtain_episodes(0, batch_size=10)

    def test_without_batch_size(self, tmp_path):
        trainer = make_trainer(tmp_path)
        with pytest.raises(ValueError, match="trainer was not initialized with `batch_size`"):
            trainer.obtain_episodes(0)

    def test_samples_as_list_of_episode_dicts(self, tmp_path):
        trainer = make_trainer(tmp_path)
        paths = trainer.obtain_samples(0, batch_size=50)
        assert sum(len(p["rewards"]) for p in paths) >= 50
        assert {"observations", "actions", "rewards"} <= set(paths[0])

    def test_update_list_must_match_worker_count(self, tmp_path):
        trainer = make_trainer(tmp_path, n_workers=2)
        params = trainer._algo.policy.get_param_values()
        with pytest.raises(ValueError, match="Length of list"):
            trainer.obtain_episodes(0, batch_size=10, agent_update=[params] * 3)
        batch = trainer.obtain_episodes(0, batch_size=10, agent_update=[params] * 2)
        assert batch.lengths.sum() >= 10


class TestSnapshotsAndResume:
    def test_snapshot_holds_garage_keys_and_rng_state(self, tmp_path):
        trainer = make_trainer(tmp_path)
        trainer.train(1, batch_size=BATCH)
        saved = Snapshotter(str(tmp_path)).load(str(tmp_path))
        assert {"seed", "train_args", "stats", "env", "algo", "n_workers", "worker_class",
                "worker_args", "rng_state"} <= set(saved)
        assert saved["seed"] == 3 and isinstance(saved["env"], GymEnv)

    def test_restore_returns_copy_with_next_start_epoch(self, tmp_path):
        make_trainer(tmp_path).train(5, batch_size=BATCH)
        trainer = Trainer(SnapshotConfig(str(tmp_path)))
        args = trainer.restore(str(tmp_path))
        assert (args.n_epochs, args.start_epoch, args.batch_size) == (5, 5, BATCH)
        args.n_epochs = 99
        assert trainer.train_args.n_epochs == 5

    def test_resume_merges_only_given_arguments_and_runs_remaining_epochs(self, tmp_path):
        make_trainer(tmp_path).train(5, batch_size=BATCH)
        trainer = Trainer(SnapshotConfig(str(tmp_path)))
        trainer.restore(str(tmp_path))
        trainer.resume(n_epochs=8, plot=False, store_episodes=True, pause_for_plot=False)
        args = trainer.train_args
        assert (args.n_epochs, args.batch_size, args.store_episodes) == (8, BATCH, True)
        assert trainer.stats.total_epoch == 7 and trainer.step_itr == 8
        rows = read_csv(tmp_path / "progress.csv")
        assert [int(r["Epoch"]) for r in rows] == list(range(8))

    def test_resume_from_other_dir_saves_into_own_dir(self, tmp_path):
        make_trainer(tmp_path / "a").train(2, batch_size=BATCH)
        trainer = Trainer(SnapshotConfig(str(tmp_path / "b")))
        trainer.restore(str(tmp_path / "a"))
        trainer.resume(n_epochs=3)
        assert trainer.latest_snapshot_epoch() == 2
        assert trainer.latest_snapshot_epoch(str(tmp_path / "a")) == 1

    def test_restore_specific_epoch(self, tmp_path):
        make_trainer(tmp_path, mode="all").train(4, batch_size=BATCH)
        trainer = Trainer(SnapshotConfig(str(tmp_path), "all"))
        assert trainer.restore(str(tmp_path), from_epoch=1).start_epoch == 2
        assert trainer.step_itr is None and trainer.stats.total_itr == 2

    def test_resume_in_process_equals_uninterrupted_run(self, tmp_path):
        full = make_trainer(tmp_path / "full")
        full.train(6, batch_size=BATCH)
        part = make_trainer(tmp_path / "part")
        part.train(3, batch_size=BATCH)
        resumed = Trainer(SnapshotConfig(str(tmp_path / "part")))
        resumed.restore(str(tmp_path / "part"))
        resumed.resume(n_epochs=6)
        np.testing.assert_array_equal(full._algo.policy.get_param_values(),
                                      resumed._algo.policy.get_param_values())
        assert full.total_env_steps == resumed.total_env_steps

    def test_crash_between_log_and_snapshot_leaves_each_epoch_once_in_csv(self, tmp_path):
        trainer = make_trainer(tmp_path)
        original_save = trainer.save

        def failing_save(epoch):
            if epoch == 2:
                raise OSError("disk went away")
            original_save(epoch)

        trainer.save = failing_save
        with pytest.raises(OSError):
            trainer.train(4, batch_size=BATCH)
        assert [int(r["Epoch"]) for r in read_csv(tmp_path / "progress.csv")] == [0, 1, 2]
        resumed = Trainer(SnapshotConfig(str(tmp_path)))
        assert resumed.restore(str(tmp_path)).start_epoch == 2
        resumed.resume()
        assert [int(r["Epoch"]) for r in read_csv(tmp_path / "progress.csv")] == [0, 1, 2, 3]

    def test_garage_style_script_resumes_in_a_new_process(self, tmp_path):
        def run(*args):
            subprocess.run([sys.executable, "-m", "tests.trainer.numpy_experiment", *args],
                           cwd=REPO, check=True, capture_output=True, timeout=120)

        run("train", str(tmp_path / "full"), "6", str(tmp_path / "full.npy"))
        run("train", str(tmp_path / "part"), "3", str(tmp_path / "ignored.npy"))
        run("resume", str(tmp_path / "part"), "6", str(tmp_path / "part.npy"))
        np.testing.assert_array_equal(np.load(tmp_path / "full.npy"),
                                      np.load(tmp_path / "part.npy"))
        full_rows = read_csv(tmp_path / "full" / "progress.csv")
        part_rows = read_csv(tmp_path / "part" / "progress.csv")
        timeless = [{k: v for k, v in r.items() if "Time" not in k} for r in full_rows]
        assert timeless == [{k: v for k, v in r.items() if "Time" not in k} for r in part_rows]


class RecordingOrchestrator:
    def __init__(self):
        self.calls: list[tuple[str, int]] = []

    def run_epoch(self, epoch, body):
        self.calls.append(("epoch", epoch))
        return body()

    def run_phase(self, phase, epoch, fn):
        self.calls.append((phase, epoch))
        return fn()


class TestOrchestrationSeam:
    def test_built_in_loop_runs_epoch_with_three_phases(self, tmp_path):
        trainer = make_trainer(tmp_path)
        trainer.orchestrator = RecordingOrchestrator()
        trainer.train(2, batch_size=BATCH)
        assert trainer.orchestrator.calls == [
            ("epoch", 0), ("sample", 0), ("optimize", 0), ("snapshot", 0),
            ("epoch", 1), ("sample", 1), ("optimize", 1), ("snapshot", 1)]

    def test_generator_loop_gets_sample_and_snapshot_phases(self, tmp_path):
        trainer = make_trainer(tmp_path, algo_cls=GeneratorRandomSearch)
        trainer.orchestrator = RecordingOrchestrator()
        trainer.train(2, batch_size=BATCH)
        assert trainer.orchestrator.calls == [
            ("sample", 0), ("snapshot", 0), ("sample", 1), ("snapshot", 1)]

    def test_epoch_returns_json_metrics(self, tmp_path):
        trainer = make_trainer(tmp_path)
        results = []

        class Keep(RecordingOrchestrator):
            def run_epoch(self, epoch, body):
                results.append(body())
                return results[-1]

        trainer.orchestrator = Keep()
        trainer.train(2, batch_size=BATCH)
        assert json.loads(json.dumps(results))[1]["Epoch"] == 1
        assert "Evaluation/AverageReturn" in results[0]


class TestSigterm:
    def test_stop_request_raises_at_safe_point_after_saving(self, tmp_path):
        trainer = make_trainer(tmp_path)

        class StopAfterFirstSnapshot(RecordingOrchestrator):
            def run_phase(self, phase, epoch, fn):
                result = fn()
                if phase == "snapshot" and epoch == 0:
                    os.kill(os.getpid(), signal.SIGTERM)
                return result

        trainer.orchestrator = StopAfterFirstSnapshot()
        with pytest.raises(TrainingInterrupted, match="after saving epoch 0"):
            trainer.train(5, batch_size=BATCH)
        assert trainer.latest_snapshot_epoch() == 0
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    def test_sigterm_to_a_training_process_exits_cleanly_and_resumes(self, tmp_path):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.trainer.numpy_experiment", "slow-train",
             str(tmp_path), "50", str(tmp_path / "out.npy")],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 60
        while Snapshotter(str(tmp_path), "all").latest_epoch() is None:
            assert time.time() < deadline and proc.poll() is None
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode != 0
        assert "Training stopped by signal 15" in output
        trainer = Trainer(SnapshotConfig(str(tmp_path), "all"))
        start = trainer.restore(str(tmp_path)).start_epoch
        assert 1 <= start < 50
