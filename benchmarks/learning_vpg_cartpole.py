"""VPG on CartPole-v1: garage's test_vpg_cartpole target (average return > 90 after 10 x 10000).

Settings: CategoricalMLPPolicy (32, 32), LinearFeatureBaseline, discount 0.99, Adam lr 0.01
(one full-batch step per epoch), 10 epochs of 10000 environment steps. Prints the last epoch's
training average return, a 20-episode deterministic evaluation, env steps and wall time.

Usage: ``.venv/bin/python benchmarks/learning_vpg_cartpole.py [--seed 1]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from learning_common import evaluate  # noqa: E402

from trainer import GymEnv, SnapshotConfig, TFTrainer, set_seed  # noqa: E402
from trainer.algos import VPG  # noqa: E402
from trainer.baselines import LinearFeatureBaseline  # noqa: E402
from trainer.policies import CategoricalMLPPolicy  # noqa: E402
from trainer.samplers import LocalSampler  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    set_seed(args.seed)
    with TFTrainer(SnapshotConfig(tempfile.mkdtemp(prefix="vpg_cartpole_"))) as trainer:
        env = GymEnv("CartPole-v1")
        policy = CategoricalMLPPolicy(env.spec, hidden_sizes=(32, 32))
        sampler = LocalSampler(agents=policy, envs=env,
                               max_episode_length=env.spec.max_episode_length)
        algo = VPG(env.spec, policy, LinearFeatureBaseline(env.spec), sampler, discount=0.99,
                   optimizer_args={"learning_rate": 0.01})
        trainer.setup(algo, env)
        start = time.perf_counter()
        last_return = trainer.train(n_epochs=10, batch_size=10000)
        wall = time.perf_counter() - start
        mean, std = evaluate(policy, "CartPole-v1")
    print(json.dumps({"benchmark": "vpg_cartpole", "seed": args.seed,
                      "last_average_return": round(last_return, 1), "target": "> 90",
                      "reached": last_return > 90, "env_steps": trainer.total_env_steps,
                      "train_wall_s": round(wall, 2), "eval_mean": mean, "eval_std": std}))


if __name__ == "__main__":
    main()
