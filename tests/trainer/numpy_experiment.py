"""A garage-style launcher for the numpy random-search experiment, run in subprocesses by tests.

    python -m tests.trainer.numpy_experiment train DIR N_EPOCHS OUT.npy
    python -m tests.trainer.numpy_experiment resume DIR N_EPOCHS OUT.npy
"""

from __future__ import annotations

import sys
import time

import gymnasium as gym
import numpy as np

from tests.trainer.numpy_agents import LinearSoftmaxPolicy, RandomSearch
from trainer import GymEnv, SnapshotConfig, Trainer, set_seed
from trainer.samplers import LocalSampler

BATCH_SIZE = 300


def build(snapshot_dir: str, seed: int = 7, algo_cls: type = RandomSearch,
          mode: str = "all") -> Trainer:
    set_seed(seed)
    env = GymEnv(gym.make("CartPole-v1", max_episode_steps=100))
    policy = LinearSoftmaxPolicy(env.spec, seed=seed)
    sampler = LocalSampler(agents=policy, envs=env,
                           max_episode_length=env.spec.max_episode_length, seed=seed)
    algo = algo_cls(env.spec, policy, sampler, seed=seed)
    trainer = Trainer(SnapshotConfig(snapshot_dir, mode))
    trainer.setup(algo, env)
    return trainer


class SlowRandomSearch(RandomSearch):
    """Each epoch takes a while, so that a signal can land mid-run."""

    def optimize(self, trainer, epoch, episodes):
        time.sleep(0.3)
        return super().optimize(trainer, epoch, episodes)


def main(argv: list[str]) -> int:
    command, snapshot_dir, n_epochs, out = argv[:4]
    if command == "train":
        trainer = build(snapshot_dir)
        trainer.train(n_epochs=int(n_epochs), batch_size=BATCH_SIZE)
    elif command == "slow-train":
        trainer = build(snapshot_dir, algo_cls=SlowRandomSearch)
        trainer.train(n_epochs=int(n_epochs), batch_size=BATCH_SIZE)
    else:
        trainer = Trainer(SnapshotConfig(snapshot_dir, "all"))
        trainer.restore(snapshot_dir)
        trainer.resume(n_epochs=int(n_epochs))
    np.save(out, trainer._algo.policy.get_param_values())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
