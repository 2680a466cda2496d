"""PPO on CartPole-v1 with rl-zoo3-like settings: steps and wall time to an evaluation of 475.

The issue's target: evaluation return >= 475 (mean of 20 deterministic episodes) within 100k
environment steps. Settings follow rl-zoo3's tuned CartPole PPO where garage's API allows: 8
environments (VecWorker), 256 steps per epoch, 20 optimisation epochs over minibatches of 256,
Adam lr 1e-3, clip 0.2, discount 0.98, GAE lambda 0.8, no entropy bonus, (64, 64) tanh policy,
and a GaussianMLPBaseline (64, 64) as the value function. The policy is evaluated after each
epoch whose ``Extras/EpisodeRewardMean`` (last 100 training episodes) is >= 400; evaluation
time is not counted in the wall time.

Usage: ``.venv/bin/python benchmarks/learning_ppo_cartpole.py [--seed 1] [--snapshot-mode last]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from learning_common import TargetWatcher, run_to_target  # noqa: E402

from trainer import GymEnv, SnapshotConfig, TFTrainer, set_seed  # noqa: E402
from trainer.algos import PPO  # noqa: E402
from trainer.baselines import GaussianMLPBaseline  # noqa: E402
from trainer.policies import CategoricalMLPPolicy  # noqa: E402
from trainer.samplers import LocalSampler, VecWorker  # noqa: E402

BATCH_SIZE = 256  # 8 envs x 32 steps, as rl-zoo3's n_envs * n_steps
EVAL_FROM = 400  # evaluate once the mean of the last 100 training returns reaches this


def build(seed: int) -> tuple[Any, Any, Any]:
    """Build env, policy and PPO inside the current TFTrainer context."""
    env = GymEnv("CartPole-v1")
    policy = CategoricalMLPPolicy(env.spec, hidden_sizes=(64, 64))
    baseline = GaussianMLPBaseline(env.spec, hidden_sizes=(64, 64), optimizer_args={
        "learning_rate": 1e-3, "batch_size": 128, "max_optimization_epochs": 10})
    sampler = LocalSampler(agents=policy, envs=env, max_episode_length=500,
                           worker_class=VecWorker, worker_args={"n_envs": 8}, seed=seed)
    algo = PPO(env.spec, policy, baseline, sampler, discount=0.98, gae_lambda=0.8,
               lr_clip_range=0.2, optimizer_args={
                   "learning_rate": 1e-3, "batch_size": 256, "max_optimization_epochs": 20,
                   "tolerance": 0.0})
    return env, policy, algo


def run(seed: int, snapshot_mode: str = "last", max_env_steps: int = 100_000,
        stop: bool = True) -> dict[str, Any]:
    """Train one seed; return the summary of :func:`learning_common.run_to_target`."""
    set_seed(seed)
    config = SnapshotConfig(tempfile.mkdtemp(prefix="ppo_cartpole_"), snapshot_mode=snapshot_mode)
    with TFTrainer(config) as trainer:
        env, policy, algo = build(seed)
        trainer.setup(algo, env)
        watcher = TargetWatcher(policy, "CartPole-v1", 475.0,
                                lambda row: row["Extras/EpisodeRewardMean"] >= EVAL_FROM,
                                stop=stop, max_env_steps=max_env_steps)
        return run_to_target(trainer, watcher, n_epochs=10_000, batch_size=BATCH_SIZE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--snapshot-mode", default="last")
    parser.add_argument("--max-env-steps", type=int, default=100_000)
    args = parser.parse_args()
    result = run(args.seed, args.snapshot_mode, args.max_env_steps)
    print(json.dumps({"benchmark": "ppo_cartpole", "seed": args.seed,
                      "snapshot_mode": args.snapshot_mode, **result}))


if __name__ == "__main__":
    main()
