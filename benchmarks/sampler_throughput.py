"""Sampler throughput on CartPole-v1: raw env steps/s vs. VecWorker and DefaultWorker sampling.

Prints (median of --repeats runs):

* raw: 8 ``gym.make("CartPole-v1")`` envs stepped in a Python loop with precomputed random
  actions (reset on terminated/truncated);
* VecWorker(8) + a numpy 2x32 tanh MLP policy through ``LocalSampler.obtain_samples``;
* DefaultWorker (one env) + the same policy through ``LocalSampler.obtain_samples``;
* the ratios to the raw rate (the algorithms issue requires VecWorker >= 50 %).

Usage: ``.venv/bin/python benchmarks/sampler_throughput.py [--steps 100000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types
from pathlib import Path

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

try:
    import trainer  # noqa: F401
except ImportError:  # the package's __init__ may pull modules that are not built yet
    for _name in [m for m in sys.modules if m == "trainer" or m.startswith("trainer.")]:
        del sys.modules[_name]
    _pkg = types.ModuleType("trainer")
    _pkg.__path__ = [str(Path(__file__).resolve().parents[1] / "trainer")]
    sys.modules["trainer"] = _pkg

from trainer.envs import GymEnv  # noqa: E402
from trainer.samplers import DefaultWorker, LocalSampler, VecWorker  # noqa: E402

ENV_ID = "CartPole-v1"
N_ENVS = 8


class NumpyMLPPolicy:
    """A 2x32 tanh MLP categorical policy in numpy, with its own generator."""

    def __init__(self, obs_dim: int, n_actions: int, seed: int = 0) -> None:
        self._rng = np.random.default_rng(seed)
        sizes = [obs_dim, 32, 32, n_actions]
        self._params = [a for i, o in zip(sizes[:-1], sizes[1:])
                        for a in (self._rng.normal(0, 1 / np.sqrt(i), (i, o)), np.zeros(o))]

    def _probs(self, obs: np.ndarray) -> np.ndarray:
        w1, b1, w2, b2, w3, b3 = self._params
        logits = np.tanh(np.tanh(obs @ w1 + b1) @ w2 + b2) @ w3 + b3
        logits -= logits.max(axis=-1, keepdims=True)
        probs = np.exp(logits)
        return probs / probs.sum(axis=-1, keepdims=True)

    def get_actions(self, observations: np.ndarray) -> tuple[np.ndarray, dict]:
        probs = self._probs(observations)
        u = self._rng.random((len(probs), 1))
        actions = (u > np.cumsum(probs, axis=-1)[:, :-1]).sum(axis=-1)
        return actions, {"prob": probs}

    def get_action(self, observation: np.ndarray) -> tuple[int, dict]:
        actions, infos = self.get_actions(observation[None])
        return actions[0], {k: v[0] for k, v in infos.items()}

    def reset(self, do_resets: np.ndarray | None = None) -> None:
        pass

    def get_param_values(self) -> np.ndarray:
        return np.concatenate([p.ravel() for p in self._params])

    def set_param_values(self, flat: np.ndarray) -> None:
        start = 0
        for p in self._params:
            p[...] = flat[start:start + p.size].reshape(p.shape)
            start += p.size


def raw_rate(n_steps: int) -> float:
    envs = [gym.make(ENV_ID) for _ in range(N_ENVS)]
    for i, env in enumerate(envs):
        env.reset(seed=i)
    actions = np.random.default_rng(0).integers(0, 2, (n_steps // N_ENVS + 1, N_ENVS)).tolist()
    start = time.perf_counter()
    for row in actions:
        for env, action in zip(envs, row):
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
    return len(actions) * N_ENVS / (time.perf_counter() - start)


def sampler_rate(n_steps: int, worker_class: type, worker_args: dict) -> float:
    policy = NumpyMLPPolicy(4, 2)
    sampler = LocalSampler(policy, GymEnv(ENV_ID), max_episode_length=500, seed=1,
                           worker_class=worker_class, worker_args=worker_args)
    params = policy.get_param_values()
    sampler.obtain_samples(0, 2000, params)  # warm-up
    start = time.perf_counter()
    episodes = sampler.obtain_samples(1, n_steps, params)
    elapsed = time.perf_counter() - start
    return int(episodes.lengths.sum()) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rates: dict[str, list[float]] = {"raw": [], "vec": [], "default": []}
    for _ in range(args.repeats):
        rates["raw"].append(raw_rate(args.steps))
        rates["vec"].append(sampler_rate(args.steps, VecWorker, {"n_envs": N_ENVS}))
        rates["default"].append(sampler_rate(args.steps, DefaultWorker, {}))
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"CartPole-v1, {args.steps} steps, median of {args.repeats}")
    print(f"raw env steps/s ({N_ENVS} envs, python loop, random actions): {med['raw']:>10,.0f}")
    print(f"VecWorker({N_ENVS}) + numpy 2x32 MLP, LocalSampler:          {med['vec']:>10,.0f}  "
          f"ratio {med['vec'] / med['raw']:.2f}")
    print(f"DefaultWorker (1 env) + numpy 2x32 MLP, LocalSampler:     {med['default']:>10,.0f}  "
          f"ratio {med['default'] / med['raw']:.2f}")
    print(f"VecWorker / DefaultWorker: {med['vec'] / med['default']:.2f}")


if __name__ == "__main__":
    main()
