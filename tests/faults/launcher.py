"""A training process for kill tests: resumes if its snapshot dir holds a snapshot, else starts.

    python -m tests.faults.launcher SNAPSHOT_DIR N_EPOCHS OUT.npy [KILL_AT]

KILL_AT is ``<phase>:<epoch>`` (phase: sample, optimize, snapshot-before, snapshot-after) and
makes the process SIGKILL itself at that point, through the engine's orchestration seam.
"""

from __future__ import annotations

import os
import signal
import sys

import numpy as np

from tests.trainer.numpy_experiment import BATCH_SIZE, build
from trainer import SnapshotConfig, Trainer


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


def main(argv: list[str]) -> int:
    snapshot_dir, n_epochs, out = argv[0], int(argv[1]), argv[2]
    probe = Trainer(SnapshotConfig(snapshot_dir, "last"))
    if probe.latest_snapshot_epoch() is None:
        trainer = build(snapshot_dir, mode="last")
        if len(argv) > 3:
            trainer.orchestrator = KillAt(argv[3])
        trainer.train(n_epochs=n_epochs, batch_size=BATCH_SIZE)
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
