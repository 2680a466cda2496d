"""CEM on CartPole-v1: evaluation return >= 100 within 20 epochs of 1000 steps per candidate.

Settings are garage's ``examples/np/cem_cartpole.py``: CategoricalMLPPolicy (32, 32),
20 candidates per epoch each evaluated on >= 1000 environment steps, best 5 % kept. The
policy (the search mean) is evaluated with 20 deterministic episodes after each epoch whose
best candidate scored >= 100.

Usage: ``.venv/bin/python benchmarks/learning_cem_cartpole.py [--seed 1] [--algo cem|cmaes]``
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
from trainer.algos import CEM, CMAES  # noqa: E402
from trainer.policies import CategoricalMLPPolicy  # noqa: E402
from trainer.samplers import LocalSampler  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--algo", choices=["cem", "cmaes"], default="cem")
    parser.add_argument("--n-epochs", type=int, default=20)
    args = parser.parse_args()
    set_seed(args.seed)
    with TFTrainer(SnapshotConfig(tempfile.mkdtemp(prefix="cem_cartpole_"))) as trainer:
        env = GymEnv("CartPole-v1")
        policy = CategoricalMLPPolicy(env.spec, hidden_sizes=(32, 32))
        sampler = LocalSampler(agents=policy, envs=env,
                               max_episode_length=env.spec.max_episode_length)
        if args.algo == "cem":
            algo = CEM(env.spec, policy, sampler, n_samples=20, best_frac=0.05)
            best_key = "CEM/BestCandidateReturn"
        else:
            algo = CMAES(env.spec, policy, sampler, n_samples=20)
            best_key = "CMAES/BestCandidateReturn"
        trainer.setup(algo, env)
        watcher = TargetWatcher(policy, "CartPole-v1", 100.0, lambda row: row[best_key] >= 100)
        result = run_to_target(trainer, watcher, n_epochs=args.n_epochs, batch_size=1000)
    print(json.dumps({"benchmark": f"{args.algo}_cartpole", "seed": args.seed, **result}))


if __name__ == "__main__":
    main()
