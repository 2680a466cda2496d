"""Kill a training process (SIGKILL) at chosen or random moments, restart it, repeat.

The run that was killed and resumed must end with the same weights, bit for bit, and the same
``progress.csv`` rows (time columns aside) as a run that never stopped; no snapshot may be
corrupt and no more than the epoch in flight may be lost at any kill.
"""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from trainer import SnapshotConfig, Trainer

REPO = Path(__file__).resolve().parents[2]
N_EPOCHS = 30


def launch(snapshot_dir: Path, out: Path, kill_at: str | None = None,
           algo: str = "numpy", n_epochs: int = N_EPOCHS) -> subprocess.Popen:
    args = [sys.executable, "-m", "tests.faults.launcher", str(snapshot_dir), str(n_epochs),
            str(out)]
    if kill_at:
        args.append(kill_at)
    env = {**os.environ, "TRAINFLOW_TEST_ALGO": algo}
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def timeless_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if "Time" not in k} for row in csv.DictReader(f)]


def check_after_kill(snapshot_dir: Path, previous_epoch: int) -> int:
    """The snapshot loads, progress never goes backwards, at most one epoch is lost."""
    trainer = Trainer(SnapshotConfig(str(snapshot_dir), "last"))
    latest = trainer.latest_snapshot_epoch()
    if latest is None:
        return -1
    assert latest >= previous_epoch, "a committed epoch disappeared"
    assert trainer.restore(str(snapshot_dir)).start_epoch == latest + 1
    progress = snapshot_dir / "progress.csv"
    if progress.exists():
        logged = [int(r["Epoch"]) for r in timeless_rows(progress)]
        assert max(logged) - latest <= 1, "more than the epoch in flight was lost"
    return latest


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[np.ndarray, list[dict[str, str]], float]:
    """Final weights, rows and wall time (s) of a run that is never interrupted."""
    base = tmp_path_factory.mktemp("uninterrupted")
    start = time.perf_counter()
    proc = launch(base / "exp", base / "out.npy")
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
    duration = time.perf_counter() - start
    return np.load(base / "out.npy"), timeless_rows(base / "exp" / "progress.csv"), duration


def finish_and_compare(snapshot_dir: Path, out: Path, uninterrupted) -> None:
    proc = launch(snapshot_dir, out)
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
    params, rows, _ = uninterrupted
    np.testing.assert_array_equal(np.load(out), params)
    assert timeless_rows(snapshot_dir / "progress.csv") == rows


def test_kills_at_every_phase_resume_to_identical_weights(tmp_path, uninterrupted):
    snapshot_dir, out = tmp_path / "exp", tmp_path / "out.npy"
    latest = -1
    for kill_at in ["sample:0", "optimize:2", "snapshot-before:4", "snapshot-after:6",
                    "sample:9"]:
        proc = launch(snapshot_dir, out, kill_at)
        assert proc.wait(timeout=300) == -9, f"{kill_at}: {proc.stderr.read().decode()}"
        latest = check_after_kill(snapshot_dir, latest)
    finish_and_compare(snapshot_dir, out, uninterrupted)


def random_kill_cycles(tmp_path: Path, n_kills: int, seed: int, run_time: float) -> int:
    """Start, kill at a random moment of a run's expected span, restart; return the kills."""
    rng = random.Random(seed)
    snapshot_dir, out = tmp_path / "exp", tmp_path / "out.npy"
    latest, kills = -1, 0
    while kills < n_kills:
        proc = launch(snapshot_dir, out)
        time.sleep(rng.uniform(0.2, 0.9) * run_time)
        if proc.poll() is not None:  # It finished before the kill: start over with a fresh dir.
            break
        proc.kill()
        proc.wait(timeout=60)
        kills += 1
        latest = check_after_kill(snapshot_dir, latest)
    return kills


def test_random_time_kills_resume_to_identical_weights(tmp_path, uninterrupted):
    kills = random_kill_cycles(tmp_path, n_kills=3, seed=1, run_time=uninterrupted[2])
    assert kills >= 1
    finish_and_compare(tmp_path / "exp", tmp_path / "out.npy", uninterrupted)


@pytest.mark.slow
def test_fifty_random_kills(tmp_path, uninterrupted):
    survived = 0
    for round_ in range(40):
        directory = tmp_path / f"round{round_}"
        survived += random_kill_cycles(directory, n_kills=2, seed=round_,
                                       run_time=uninterrupted[2])
        finish_and_compare(directory / "exp", directory / "out.npy", uninterrupted)
        if survived >= 50:
            break
    assert survived >= 50


PPO_EPOCHS = 8


@pytest.mark.slow
def test_ppo_killed_at_every_phase_and_at_random_resumes_bit_identically(tmp_path):
    """PPO (TensorFlow, Adam, VecWorker): SIGKILLs at each phase and at random times."""
    base = tmp_path / "whole"
    start = time.perf_counter()
    proc = launch(base / "exp", base.with_suffix(".npy"), algo="ppo", n_epochs=PPO_EPOCHS)
    assert proc.wait(timeout=600) == 0, proc.stderr.read().decode()
    run_time = time.perf_counter() - start
    whole = np.load(base.with_suffix(".npy"))
    whole_rows = timeless_rows(base / "exp" / "progress.csv")

    snapshot_dir, out, latest = tmp_path / "exp", tmp_path / "out.npy", -1
    kills = 0
    for kill_at in ["sample:1", "optimize:2", "snapshot-before:3", "snapshot-after:4"]:
        proc = launch(snapshot_dir, out, kill_at, algo="ppo", n_epochs=PPO_EPOCHS)
        assert proc.wait(timeout=600) == -9, f"{kill_at}: {proc.stderr.read().decode()}"
        latest, kills = check_after_kill(snapshot_dir, latest), kills + 1
    rng = random.Random(0)
    for _ in range(6):
        proc = launch(snapshot_dir, out, algo="ppo", n_epochs=PPO_EPOCHS)
        time.sleep(rng.uniform(0.3, 0.8) * run_time)
        if proc.poll() is not None:
            break
        proc.kill()
        proc.wait(timeout=60)
        latest, kills = check_after_kill(snapshot_dir, latest), kills + 1
    proc = launch(snapshot_dir, out, algo="ppo", n_epochs=PPO_EPOCHS)
    assert proc.wait(timeout=600) == 0, proc.stderr.read().decode()
    np.testing.assert_array_equal(np.load(out), whole)
    assert timeless_rows(snapshot_dir / "progress.csv") == whole_rows
    assert kills >= 5
