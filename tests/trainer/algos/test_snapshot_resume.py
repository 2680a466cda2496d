"""A PPO snapshot restores in a fresh process, graph and session, and training continues."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from tests.trainer.algos.conftest import cartpole_parts
from trainer import SnapshotConfig, TFTrainer, set_seed
from trainer.algos import PPO

RESUME_SCRIPT = textwrap.dedent("""
    import json, os, sys
    os.environ["TF_NUM_INTRAOP_THREADS"] = "1"
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    import numpy as np
    from trainer import SnapshotConfig, TFTrainer

    old_dir, new_dir, out = sys.argv[1:4]
    with TFTrainer(SnapshotConfig(new_dir)) as trainer:
        args = trainer.restore(old_dir)
        algo = trainer._algo
        restored = {"start_epoch": args.start_epoch,
                    "params": algo.policy.get_param_values().tolist(),
                    "adam": [a.tolist() for a in algo._optimizer.get_state()]}
        trainer.resume(n_epochs=3)
        restored["final_params"] = algo.policy.get_param_values().tolist()
        restored["total_epoch"] = trainer.stats.total_epoch
    with open(out, "w") as f:
        json.dump(restored, f)
""")


def _train(snapshot_dir: Path, n_epochs: int) -> tuple[np.ndarray, list[np.ndarray]]:
    set_seed(7)
    with TFTrainer(SnapshotConfig(str(snapshot_dir))) as trainer:
        env, policy, baseline, sampler = cartpole_parts(vec=True)
        algo = PPO(
            env.spec,
            policy,
            baseline,
            sampler,
            lr_clip_range=0.2,
            optimizer_args={"batch_size": 64, "max_optimization_epochs": 3},
        )
        trainer.setup(algo, env)
        trainer.train(n_epochs=n_epochs, batch_size=200)
        return policy.get_param_values(), algo._optimizer.get_state()


def test_snapshot_restores_in_a_fresh_process_and_continues(tmp_path):
    params, adam = _train(tmp_path / "run", n_epochs=2)
    uninterrupted, _ = _train(tmp_path / "reference", n_epochs=3)

    out = tmp_path / "restored.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            RESUME_SCRIPT,
            str(tmp_path / "run"),
            str(tmp_path / "resumed"),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    restored = json.loads(out.read_text())

    assert restored["start_epoch"] == 2
    np.testing.assert_array_equal(restored["params"], params)
    assert len(restored["adam"]) == len(adam)
    for saved, loaded in zip(adam, restored["adam"]):
        np.testing.assert_array_equal(np.asarray(loaded, dtype=np.float32), saved)
    assert restored["total_epoch"] == 2
    assert not np.allclose(restored["final_params"], params)
    # Every generator (policy, optimizer, sampler, global) was pickled, so the resumed epoch
    # is the epoch the uninterrupted run took.
    np.testing.assert_allclose(restored["final_params"], uninterrupted, rtol=1e-5, atol=1e-6)
