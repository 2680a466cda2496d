#!/usr/bin/env python3
"""Train PPO on Pendulum-v1 with a Gaussian MLP policy.

The settings are those of ``benchmarks/learning_ppo_pendulum.py``, which reaches an evaluation
return of -250 or better within 200k environment steps (see its docstring for the numbers).

Usage: ``.venv/bin/python examples/ppo_pendulum.py [--seed 1] [--n-epochs 50]
[--log-dir data/local/experiment/ppo_pendulum]``
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from trainer import GymEnv, SnapshotConfig, TFTrainer, set_seed  # noqa: E402
from trainer.algos import PPO  # noqa: E402
from trainer.baselines import GaussianMLPBaseline  # noqa: E402
from trainer.policies import GaussianMLPPolicy  # noqa: E402
from trainer.samplers import LocalSampler, VecWorker  # noqa: E402

BATCH_SIZE = 4000


def build_ppo_pendulum(seed: int) -> tuple[GymEnv, GaussianMLPPolicy, PPO]:
    """Build the env, policy and algorithm inside the current ``TFTrainer`` context."""
    env = GymEnv("Pendulum-v1")
    policy = GaussianMLPPolicy(env.spec, hidden_sizes=(64, 64), init_std=1.0)
    baseline = GaussianMLPBaseline(env.spec, hidden_sizes=(64, 64), optimizer_args={
        "learning_rate": 1e-3, "batch_size": 256, "max_optimization_epochs": 10})
    sampler = LocalSampler(agents=policy, envs=env, max_episode_length=200,
                           worker_class=VecWorker, worker_args={"n_envs": 4}, seed=seed)
    algo = PPO(env.spec, policy, baseline, sampler, discount=0.9, gae_lambda=0.95,
               lr_clip_range=0.2, optimizer_args={
                   "learning_rate": 1e-3, "batch_size": 64, "max_optimization_epochs": 10,
                   "tolerance": 0.0})
    return env, policy, algo


def ppo_pendulum(ctxt: SnapshotConfig, seed: int = 1, n_epochs: int = 50,
                 batch_size: int = BATCH_SIZE) -> float | None:
    """Train PPO on Pendulum-v1; return the last epoch's average return.

    Args:
        ctxt: Where the snapshots and logs go.
        seed: Random seed.
        n_epochs: Number of epochs.
        batch_size: Environment steps per epoch.
    """
    set_seed(seed)
    with TFTrainer(ctxt) as trainer:
        env, _, algo = build_ppo_pendulum(seed)
        trainer.setup(algo, env)
        return trainer.train(n_epochs=n_epochs, batch_size=batch_size)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--n-epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--log-dir", default="data/local/experiment/ppo_pendulum")
    args = parser.parse_args()
    ppo_pendulum(SnapshotConfig(args.log_dir), args.seed, args.n_epochs, args.batch_size)
