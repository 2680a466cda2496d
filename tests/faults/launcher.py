"""A training process for kill tests: resumes if its snapshot dir holds a snapshot, else starts.

    python -m tests.faults.launcher SNAPSHOT_DIR N_EPOCHS OUT.npy [KILL_AT]

With ``TRAINFLOW_TEST_ALGO=ppo`` in the environment it trains PPO (TensorFlow, VecWorker over 8
CartPole copies) instead of the numpy random search. KILL_AT is ``<phase>:<epoch>`` (phase:
sample, optimize, snapshot-before, snapshot-after) and makes the process SIGKILL itself at that
point, through the engine's orchestration seam.
"""

from __future__ import annotations

import os
import signal
import sys

import numpy as np

from tests.trainer.numpy_experiment import BATCH_SIZE, build
from trainer import SnapshotConfig, Trainer

PPO_BATCH_SIZE = 500


class KillAt:
    """An orchestrator that SIGKILLs its own process at one phase of one epoch."""

    def __init__(self, spec: str) -> None:
        phase, epoch = spec.split(":")
        self.phase, self.epoch = phase, int(epoch)

    def _maybe_die(self, where: str, epoch: int) -> None:
        if where == self.phase and epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)

    def run_epoch(self, epoch, body):
        return body()

    def run_phase(self, phase, epoch, fn):
        self._maybe_die(phase if phase != "snapshot" else "snapshot-before", epoch)
        result = fn()
        if phase == "snapshot":
            self._maybe_die("snapshot-after", epoch)
        return result


def build_ppo(snapshot_dir: str) -> Trainer:
    """PPO as `trainflow train --algo PPO` builds it, inside a new TFTrainer context."""
    from flows.experiments import build_algo, make_env
    from trainer import TFTrainer, set_seed

    trainer = TFTrainer(SnapshotConfig(snapshot_dir, "last")).__enter__()
    set_seed(5)
    env = make_env("CartPole-v1")
    trainer.setup(build_algo("PPO", env), env)
    return trainer


def main(argv: list[str]) -> int:
    snapshot_dir, n_epochs, out = argv[0], int(argv[1]), argv[2]
    ppo = os.environ.get("TRAINFLOW_TEST_ALGO") == "ppo"
    if ppo:
        from trainer import TFTrainer

        probe = TFTrainer(SnapshotConfig(snapshot_dir, "last")).__enter__()
    else:
        probe = Trainer(SnapshotConfig(snapshot_dir, "last"))
    if probe.latest_snapshot_epoch() is None:
        trainer = build_ppo(snapshot_dir) if ppo else build(snapshot_dir, mode="last")
        if len(argv) > 3:
            trainer.orchestrator = KillAt(argv[3])
        trainer.train(n_epochs=n_epochs, batch_size=PPO_BATCH_SIZE if ppo else BATCH_SIZE)
    else:
        trainer = probe
        trainer.restore(snapshot_dir)
        if len(argv) > 3:
            trainer.orchestrator = KillAt(argv[3])
        trainer.resume(n_epochs=n_epochs)
    np.save(out, trainer._algo.policy.get_param_values())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
