#!/usr/bin/env python3
"""Train VPG on CartPole-v1 (garage's ``examples/tf/vpg_cartpole.py``, with a LocalSampler).

CategoricalMLPPolicy (32, 32), LinearFeatureBaseline, discount 0.99, Adam lr 0.01, one
full-batch step per epoch of 10000 environment steps.

Usage: ``.venv/bin/python examples/vpg_cartpole.py [--seed 1] [--n-epochs 100]``
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from trainer import GymEnv, SnapshotConfig, TFTrainer, set_seed  # noqa: E402
from trainer.algos import VPG  # noqa: E402
from trainer.baselines import LinearFeatureBaseline  # noqa: E402
from trainer.policies import CategoricalMLPPolicy  # noqa: E402
from trainer.samplers import LocalSampler  # noqa: E402


def vpg_cartpole(ctxt: SnapshotConfig, seed: int = 1, n_epochs: int = 100,
                 batch_size: int = 10000) -> float | None:
    """Train VPG on CartPole-v1; return the last epoch's average return."""
    set_seed(seed)
    with TFTrainer(ctxt) as trainer:
        env = GymEnv("CartPole-v1")
        policy = CategoricalMLPPolicy(name="policy", env_spec=env.spec, hidden_sizes=(32, 32))
        baseline = LinearFeatureBaseline(env_spec=env.spec)
        sampler = LocalSampler(agents=policy, envs=env,
                               max_episode_length=env.spec.max_episode_length)
        algo = VPG(env_spec=env.spec, policy=policy, baseline=baseline, sampler=sampler,
                   discount=0.99, optimizer_args={"learning_rate": 0.01})
        trainer.setup(algo, env)
        return trainer.train(n_epochs=n_epochs, batch_size=batch_size)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--n-epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=10000)
    parser.add_argument("--log-dir", default="data/local/experiment/vpg_cartpole")
    args = parser.parse_args()
    vpg_cartpole(SnapshotConfig(args.log_dir), args.seed, args.n_epochs, args.batch_size)
