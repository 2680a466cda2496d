"""A real PPO CartPole snapshot: size, save and restore time, and share of the epoch's wall time.

Trains PPO on CartPole-v1 (the experiment `trainflow train` builds by default) at
``--batch-size`` (default 4000) with snapshots in mode 'last', once to a local directory and once
to S3 on loopback (moto in this process), timing every phase through the engine's orchestration
seam. Prints the snapshot's size next to the size of the weights and optimizer state it must
hold, and the median save/restore time and its share of the epoch.

    .venv/bin/python benchmarks/snapshot_share.py [--epochs 6] [--batch-size 4000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tensorflow as tf  # noqa: E402
from snapshot_io import start_moto  # noqa: E402

from flows.experiments import build_algo, make_env  # noqa: E402
from trainer import SnapshotConfig, TFTrainer, set_seed  # noqa: E402


class PhaseTimer:
    """An orchestrator that records each epoch's and phase's wall time."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}

    def _timed(self, name: str, fn):
        start = time.perf_counter()
        try:
            return fn()
        finally:
            self.times.setdefault(name, []).append(time.perf_counter() - start)

    def run_epoch(self, epoch, body):
        return self._timed("epoch", body)

    def run_phase(self, phase, epoch, fn):
        return self._timed(phase, fn)


def run(snapshot_dir: str, storage_options: dict | None, epochs: int,
        batch_size: int) -> dict[str, float]:
    set_seed(1)
    config = SnapshotConfig(snapshot_dir, "last", 1, storage_options)
    with TFTrainer(config) as trainer:
        env = make_env("CartPole-v1")
        algo = build_algo("PPO", env)
        trainer.setup(algo, env)
        trainer.orchestrator = timer = PhaseTimer()
        trainer.train(n_epochs=epochs, batch_size=batch_size)
        state_bytes = sum(v.nbytes for v in trainer.sess.run(tf.compat.v1.global_variables()))
        payload = trainer._snapshotter.storage.get("params.pkl")
    restore_times = []
    for _ in range(5):
        with TFTrainer(SnapshotConfig(snapshot_dir, "last", 1, storage_options)) as fresh:
            start = time.perf_counter()
            fresh.restore(snapshot_dir)
            restore_times.append(time.perf_counter() - start)
    skip = 1  # the first epoch pays for graph warm-up
    epoch_s = statistics.median(timer.times["epoch"][skip:])
    save_s = statistics.median(timer.times["snapshot"][skip:])
    return {"epoch_s": epoch_s, "save_s": save_s, "restore_s": statistics.median(restore_times),
            "snapshot_bytes": len(payload), "tf_state_bytes": state_bytes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=4000)
    args = parser.parse_args()
    server, endpoint = start_moto()
    import boto3

    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="trainflow-bench")
    rows = {
        "local": run(tempfile.mkdtemp(prefix="snap_share_"), None, args.epochs, args.batch_size),
        "s3 (moto, loopback)": run("s3://trainflow-bench/ppo", {"endpoint_url": endpoint},
                                   args.epochs, args.batch_size),
    }
    server.stop()
    print(f"PPO CartPole-v1, batch_size={args.batch_size}, mode 'last', median over epochs "
          f"2..{args.epochs}")
    print(f"{'storage':<22}{'epoch s':>9}{'save ms':>9}{'share':>8}{'restore ms':>12}"
          f"{'snapshot KB':>13}{'TF vars KB':>12}")
    for name, r in rows.items():
        print(f"{name:<22}{r['epoch_s']:>9.3f}{r['save_s'] * 1e3:>9.1f}"
              f"{r['save_s'] / r['epoch_s']:>8.1%}{r['restore_s'] * 1e3:>12.1f}"
              f"{r['snapshot_bytes'] / 1e3:>13.1f}{r['tf_state_bytes'] / 1e3:>12.1f}")
    print("TF vars = every global variable of the graph: policy, old policy, baseline, Adam slots.")


if __name__ == "__main__":
    main()
