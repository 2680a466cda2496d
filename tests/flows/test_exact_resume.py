"""Exact resume across processes: a PPO run killed (SIGKILL) and continued with `trainflow resume`
ends with the same weights, bit for bit, as a run that never stopped (VecWorker sampler)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from trainer import SnapshotConfig, TFTrainer

pytestmark = pytest.mark.prefect
REPO = Path(__file__).resolve().parents[2]
N_EPOCHS = 6


def cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_LOGGING_LEVEL": "WARNING"}
    # Its own session, so that killing the group also kills Prefect's embedded API server.
    return subprocess.Popen([sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def train_args(snapshot_dir: Path) -> list[str]:
    return ["train", "--snapshot-dir", str(snapshot_dir), "--env", "CartPole-v1", "--algo",
            "PPO", "--n-epochs", str(N_EPOCHS), "--batch-size", "600", "--seed", "3",
            "--retries", "0"]


def final_params(snapshot_dir: Path) -> np.ndarray:
    with TFTrainer(SnapshotConfig(str(snapshot_dir))) as trainer:
        assert trainer.restore(str(snapshot_dir)).start_epoch == N_EPOCHS
        return trainer._algo.policy.get_param_values()


def timeless_rows(snapshot_dir: Path) -> list[dict[str, str]]:
    with open(snapshot_dir / "progress.csv", newline="") as f:
        return [{k: v for k, v in r.items() if "Time" not in k} for r in csv.DictReader(f)]


def test_killed_ppo_run_resumed_from_the_cli_matches_an_uninterrupted_run(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    proc = cli(*train_args(whole))
    assert proc.wait(timeout=600) == 0, proc.stderr.read()

    proc = cli(*train_args(killed))
    deadline = time.time() + 300
    probe = SnapshotConfig(str(killed))
    while True:
        assert proc.poll() is None, f"finished before the kill: {proc.stderr.read()}"
        assert time.time() < deadline, "no snapshot within 300 s"
        if (killed / "params.pkl.commit.json").exists():
            with TFTrainer(probe) as trainer:
                if (trainer.latest_snapshot_epoch() or 0) >= 1:
                    break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the machine is gone: the CLI and its API server
    proc.wait(timeout=60)

    proc = cli("resume", str(killed))
    assert proc.wait(timeout=600) == 0, proc.stderr.read()
    np.testing.assert_array_equal(final_params(killed), final_params(whole))
    assert timeless_rows(killed) == timeless_rows(whole)


def test_flow_retry_after_a_fault_matches_an_uninterrupted_run(prefect_harness, tmp_path):
    from flows.train import train_experiment

    def run(name: str, fail_at_epoch: int) -> None:
        state = train_experiment.with_options(retries=1, retry_delay_seconds=0)(
            snapshot_dir=str(tmp_path / name), env="CartPole-v1",
            algo="tests.flows.faulty_ppo:build", n_epochs=N_EPOCHS, batch_size=600, seed=3,
            algo_kwargs={"fail_at_epoch": fail_at_epoch,
                         "fault_marker": str(tmp_path / f"{name}.fired")},
            return_state=True)
        assert state.is_completed(), state.message

    run("whole", fail_at_epoch=-1)
    run("retried", fail_at_epoch=3)
    assert (tmp_path / "retried.fired").read_text() == "3"
    np.testing.assert_array_equal(final_params(tmp_path / "retried"),
                                  final_params(tmp_path / "whole"))
    assert timeless_rows(tmp_path / "retried") == timeless_rows(tmp_path / "whole")
