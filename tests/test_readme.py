"""The README's garage-style example runs (shortened), and its commands name real entry points."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_engine_example_trains_and_snapshots(tmp_path):
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    assert "trainer.train(n_epochs=100, batch_size=4000)" in code
    code = code.replace("trainer.train(n_epochs=100, batch_size=4000)",
                        "trainer.train(n_epochs=2, batch_size=500)")
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=300,
                   capture_output=True, env={"PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2",
                                             "TF_NUM_INTRAOP_THREADS": "1",
                                             "TF_NUM_INTEROP_THREADS": "1", "PATH": "/usr/bin"})
    snapshots = tmp_path / "data" / "local" / "trpo_cartpole"
    assert (snapshots / "params.pkl.commit.json").exists()
    assert len((snapshots / "progress.csv").read_text().splitlines()) == 3


def test_first_command_uses_options_the_cli_accepts():
    from flows.cli import _parser

    command = re.search(r"trainflow (train [^\n`]*)", README).group(1).split()
    args = _parser().parse_args(command)
    assert (args.env, args.algo, args.snapshot_dir) == ("CartPole-v1", "PPO",
                                                        "data/local/ppo_cartpole")
