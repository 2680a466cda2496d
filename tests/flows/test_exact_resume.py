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
    return subprocess.Popen([sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


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
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)

    proc = cli("resume", str(killed))
    assert proc.wait(timeout=600) == 0, proc.stderr.read()
    np.testing.assert_array_equal(final_params(killed), final_params(whole))
    assert timeless_rows(killed) == timeless_rows(whole)
