"""The issue's learning targets, run through the benchmark scripts (slow: minutes each).

Each script prints one JSON line; the test asserts the target was reached within the budget.
Run with ``.venv/bin/pytest tests/trainer/algos/test_learning_targets.py -m slow``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _run(script: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_ppo_cartpole_reaches_475_within_100k_steps():
    result = _run("learning_ppo_cartpole.py", "--seed", "1")
    assert result["reached"], result
    assert result["hit"]["env_steps"] <= 100_000 and result["hit"]["eval_return"] >= 475


@pytest.mark.slow
def test_trpo_cartpole_reaches_475_within_400k_steps():
    result = _run("learning_trpo_cartpole.py", "--seed", "1")
    assert result["reached"], result
    assert result["hit"]["env_steps"] <= 400_000 and result["hit"]["eval_return"] >= 475


@pytest.mark.slow
def test_vpg_cartpole_passes_90_after_10_epochs_of_10000_steps():
    result = _run("learning_vpg_cartpole.py", "--seed", "1")
    assert result["last_average_return"] > 90, result


@pytest.mark.slow
def test_cem_cartpole_reaches_100_within_20_epochs():
    result = _run("learning_cem_cartpole.py", "--seed", "1")
    assert result["reached"] and result["hit"]["epoch"] < 20, result


@pytest.mark.slow
def test_ppo_pendulum_reaches_minus_250_within_200k_steps():
    result = _run("learning_ppo_pendulum.py", "--seed", "1")
    assert result["reached"], result
    assert result["hit"]["env_steps"] <= 200_000 and result["hit"]["eval_return"] >= -250
