#!/usr/bin/env python3
"""Resume a run from its snapshots (garage's ``examples/tf/resume_training.py``).

Restores the newest committed snapshot of ``--saved-dir`` in a fresh TensorFlow graph and
session, and continues to ``--n-epochs`` epochs in total (default: the run's own). New snapshots
and logs go to ``--log-dir`` (default: the saved directory itself, so the run simply continues).

Usage: ``.venv/bin/python examples/resume_training.py --saved-dir data/local/trpo_cartpole``
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from trainer import SnapshotConfig, TFTrainer  # noqa: E402


def resume_experiment(ctxt: SnapshotConfig, saved_dir: str,
                      n_epochs: int | None = None) -> float | None:
    """Restore ``saved_dir``'s last snapshot and train on; return the last average return."""
    with TFTrainer(snapshot_config=ctxt) as trainer:
        trainer.restore(from_dir=saved_dir)
        return trainer.resume(n_epochs=n_epochs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saved-dir", required=True)
    parser.add_argument("--log-dir", default=None)
    parser.add_argument("--n-epochs", type=int, default=None)
    args = parser.parse_args()
    resume_experiment(SnapshotConfig(args.log_dir or args.saved_dir), args.saved_dir,
                      args.n_epochs)
