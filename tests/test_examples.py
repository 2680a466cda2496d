"""The launchers in examples/ run (shortened), and resume_training continues a run they saved."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run(script: str, *args: str) -> None:
    subprocess.run([sys.executable, str(REPO / "examples" / script), *args], cwd=REPO,
                   check=True, capture_output=True, timeout=600)


def epochs(log_dir: Path) -> list[int]:
    with open(log_dir / "progress.csv", newline="") as f:
        return [int(float(row["Epoch"])) for row in csv.DictReader(f)]


@pytest.mark.parametrize("script,batch", [("trpo_cartpole.py", "500"), ("ppo_pendulum.py", "400"),
                                          ("vpg_cartpole.py", "500"), ("cem_cartpole.py", "200"),
                                          ("cma_es_cartpole.py", "200")])
def test_example_trains_and_saves(tmp_path, script, batch):
    run(script, "--n-epochs", "2", "--batch-size", batch, "--log-dir", str(tmp_path))
    assert epochs(tmp_path) == [0, 1]
    assert (tmp_path / "params.pkl.commit.json").exists()


def test_resume_training_continues_a_saved_run(tmp_path):
    run("trpo_cartpole.py", "--n-epochs", "2", "--batch-size", "500", "--log-dir", str(tmp_path))
    run("resume_training.py", "--saved-dir", str(tmp_path), "--n-epochs", "4")
    assert epochs(tmp_path) == [0, 1, 2, 3]
