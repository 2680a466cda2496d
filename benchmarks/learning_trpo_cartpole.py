"""TRPO on CartPole-v1: steps and wall time until a 20-episode evaluation reaches 475.

The issue's target: evaluation return >= 475 (mean of 20 deterministic episodes) within 400k
environment steps. Settings are garage's ``examples/tf/trpo_cartpole.py`` (CategoricalMLPPolicy
(32, 32), LinearFeatureBaseline, discount 0.99, max_kl_step 0.01, 4000 steps per epoch,
LocalSampler with one environment), with a 100-epoch (400k step) budget.

Usage: ``.venv/bin/python benchmarks/learning_trpo_cartpole.py [--seed 1]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from learning_common import TargetWatcher, run_to_target  # noqa: E402

from trainer import GymEnv, SnapshotConfig, TFTrainer, set_seed  # noqa: E402
from trainer.algos import TRPO  # noqa: E402
from trainer.baselines import LinearFeatureBaseline  # noqa: E402
from trainer.policies import CategoricalMLPPolicy  # noqa: E402
from trainer.samplers import LocalSampler  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--n-epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=4000)
    args = parser.parse_args()
    set_seed(args.seed)
    with TFTrainer(SnapshotConfig(tempfile.mkdtemp(prefix="trpo_cartpole_"))) as trainer:
        env = GymEnv("CartPole-v1")
        policy = CategoricalMLPPolicy(env.spec, hidden_sizes=(32, 32))
        baseline = LinearFeatureBaseline(env.spec)
        sampler = LocalSampler(agents=policy, envs=env,
                               max_episode_length=env.spec.max_episode_length)
        algo = TRPO(env.spec, policy, baseline, sampler, discount=0.99, max_kl_step=0.01)
        trainer.setup(algo, env)
        watcher = TargetWatcher(policy, "CartPole-v1", 475.0,
                                lambda row: row["Evaluation/AverageReturn"] >= 450)
        result = run_to_target(trainer, watcher, args.n_epochs, args.batch_size)
    print(json.dumps({"benchmark": "trpo_cartpole", "seed": args.seed, **result}))


if __name__ == "__main__":
    main()
