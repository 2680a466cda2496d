#!/usr/bin/env python3
"""Train CEM on CartPole-v1 (garage's ``examples/np/cem_cartpole.py``).

CategoricalMLPPolicy (32, 32); each epoch evaluates 20 parameter candidates, each on at least
``batch_size`` (1000) environment steps, and keeps the best 5 %.

Usage: ``.venv/bin/python examples/cem_cartpole.py [--seed 1] [--n-epochs 100]``
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from trainer import GymEnv, SnapshotConfig, TFTrainer, set_seed  # noqa: E402
from trainer.algos import CEM  # noqa: E402
from trainer.policies import CategoricalMLPPolicy  # noqa: E402
from trainer.samplers import LocalSampler  # noqa: E402


def cem_cartpole(ctxt: SnapshotConfig, seed: int = 1, n_epochs: int = 100,
                 batch_size: int = 1000, n_samples: int = 20) -> float | None:
    """Train CEM on CartPole-v1; return the last epoch's average return."""
    set_seed(seed)
    with TFTrainer(ctxt) as trainer:
        env = GymEnv("CartPole-v1")
        policy = CategoricalMLPPolicy(name="policy", env_spec=env.spec, hidden_sizes=(32, 32))
        sampler = LocalSampler(agents=policy, envs=env,
                               max_episode_length=env.spec.max_episode_length)
        algo = CEM(env_spec=env.spec, policy=policy, sampler=sampler, best_frac=0.05,
                   n_samples=n_samples)
        trainer.setup(algo, env)
        return trainer.train(n_epochs=n_epochs, batch_size=batch_size)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--n-epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--log-dir", default="data/local/experiment/cem_cartpole")
    args = parser.parse_args()
    cem_cartpole(SnapshotConfig(args.log_dir), args.seed, args.n_epochs, args.batch_size)
