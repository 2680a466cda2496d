"""trainflow PPO vs Stable-Baselines3 PPO on CartPole-v1, run one after the other per seed.

Both use rl-zoo3's tuned CartPole settings (8 envs, 32 steps each per update, 20 epochs of
minibatch 256, lr 1e-3, clip 0.2, gamma 0.98, GAE lambda 0.8; SB3 also decays lr and clip
linearly as the zoo does), one torch / TensorFlow thread, a 100k-step budget, and the same
stopping rule: after each update whose mean return over the last 100 training episodes is
>= 400, run 20 deterministic evaluation episodes (same seeds for both; not timed) and stop
once their mean is >= 475. Reported per framework: wall time from the start of training to
that point, env steps, and the ratio trainflow / SB3 (below 1 means trainflow is faster).

Needs the ``bench`` extra: ``.venv/bin/pip install stable-baselines3 torch==2.13.0``.

Usage: ``.venv/bin/python benchmarks/ppo_vs_sb3.py [--seeds 1 2 3] [--snapshot-mode last]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

import learning_ppo_cartpole  # noqa: E402
import numpy as np  # noqa: E402
from learning_common import evaluate_fn  # noqa: E402


def run_sb3(seed: int, max_env_steps: int = 100_000) -> dict[str, Any]:
    """Train SB3 PPO with rl-zoo3's CartPole hyperparameters until the same target."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)

    class Watch(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.start = time.perf_counter()
            self.eval_seconds = 0.0
            self.hit: dict[str, Any] | None = None
            self.last_eval: tuple[float, float] | None = None

        def _on_rollout_end(self) -> None:
            buf = self.model.ep_info_buffer
            if (self.hit is None and len(buf) == 100
                    and np.mean([e["r"] for e in buf]) >= learning_ppo_cartpole.EVAL_FROM):
                t0 = time.perf_counter()
                self.last_eval = evaluate_fn(
                    lambda obs: int(self.model.predict(obs, deterministic=True)[0]),
                    "CartPole-v1")
                self.eval_seconds += time.perf_counter() - t0
                if self.last_eval[0] >= 475:
                    self.hit = {"env_steps": int(self.num_timesteps),
                                "wall_s": round(self.train_seconds(), 2),
                                "eval_return": self.last_eval[0]}

        def train_seconds(self) -> float:
            return time.perf_counter() - self.start - self.eval_seconds

        def _on_step(self) -> bool:
            return self.hit is None

    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
                n_epochs=20, ent_coef=0.0, learning_rate=lambda p: p * 1e-3,
                clip_range=lambda p: p * 0.2, seed=seed, device="cpu", verbose=0)
    watch = Watch()
    model.learn(max_env_steps, callback=watch)
    return {"reached": watch.hit is not None, "hit": watch.hit,
            "env_steps": int(model.num_timesteps), "train_wall_s": round(watch.train_seconds(), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--snapshot-mode", default="last")
    parser.add_argument("--max-env-steps", type=int, default=100_000)
    args = parser.parse_args()
    ratios = []
    for seed in args.seeds:
        ours = learning_ppo_cartpole.run(seed, args.snapshot_mode, args.max_env_steps)
        sb3 = run_sb3(seed, args.max_env_steps)
        row = {"seed": seed, "trainflow": ours, "sb3": sb3}
        if ours["hit"] and sb3["hit"]:
            row["wall_ratio"] = round(ours["hit"]["wall_s"] / sb3["hit"]["wall_s"], 3)
            ratios.append(row["wall_ratio"])
        print(json.dumps(row), flush=True)
    print(json.dumps({"benchmark": "ppo_vs_sb3", "snapshot_mode": args.snapshot_mode,
                      "seeds_both_reached": len(ratios),
                      "median_wall_ratio": statistics.median(ratios) if ratios else None}))


if __name__ == "__main__":
    main()
