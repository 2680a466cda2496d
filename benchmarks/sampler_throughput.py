"""Sampler throughput on CartPole-v1: raw env steps/s vs. VecWorker and DefaultWorker sampling.

Prints (median of --repeats runs):

* raw: 8 ``gym.make("CartPole-v1")`` envs stepped in a Python loop with precomputed random
  actions (reset on terminated/truncated);
* VecWorker(8) + a numpy 2x32 tanh MLP policy through ``LocalSampler.obtain_samples``;
* DefaultWorker (one env) + the same policy through ``LocalSampler.obtain_samples``;
* the ratios to the raw rate (the algorithms issue requires VecWorker >= 50 %).

Rates are given per second of wall-clock time and per second of this process's CPU time; on a
shared machine the CPU-time rates (and their ratios) are the steadier ones.

Usage: ``.venv/bin/python benchmarks/sampler_throughput.py [--steps 100000] [--repeats 3]
[--builtin]``; ``--builtin`` samples with trainflow's ``CategoricalMLPPolicy((32, 32))``
(its numpy side) instead of the benchmark's own numpy MLP.
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
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
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
        # float32 like CartPole's observations, so that no casts happen in the forward pass.
        self._params = [a.astype(np.float32) for i, o in zip(sizes[:-1], sizes[1:])
                        for a in (self._rng.normal(0, 1 / np.sqrt(i), (i, o)), np.zeros(o))]

    def get_actions(self, observations: np.ndarray) -> tuple[np.ndarray, dict]:
        w1, b1, w2, b2, w3, b3 = self._params
        logits = np.tanh(np.tanh(observations @ w1 + b1) @ w2 + b2) @ w3 + b3
        probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
        probs /= probs.sum(axis=-1, keepdims=True)
        # The exponential race: argmax_i p_i / E_i, E_i ~ Exp(1), picks i with probability p_i.
        race = self._rng.standard_exponential(probs.shape)
        actions = np.divide(probs, race, out=race).argmax(axis=-1)
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


class Clock:
    """Measures wall-clock and process CPU time of a ``with`` block."""

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def raw_rate(n_steps: int) -> tuple[float, float]:
    envs = [gym.make(ENV_ID) for _ in range(N_ENVS)]
    for i, env in enumerate(envs):
        env.reset(seed=i)
    actions = np.random.default_rng(0).integers(0, 2, (n_steps // N_ENVS + 1, N_ENVS)).tolist()
    with Clock() as clock:
        for row in actions:
            for env, action in zip(envs, row):
                _, _, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    env.reset()
    steps = len(actions) * N_ENVS
    return steps / clock.wall, steps / clock.cpu


def make_policy(builtin: bool, env: GymEnv) -> object:
    """The benchmark's numpy policy, or trainflow's CategoricalMLPPolicy (2x32 tanh)."""
    if not builtin:
        return NumpyMLPPolicy(4, 2)
    import tensorflow as tf

    from trainer.policies import CategoricalMLPPolicy

    session = tf.compat.v1.Session(graph=tf.Graph())
    session.__enter__()
    session.graph.as_default().__enter__()
    policy = CategoricalMLPPolicy(env.spec, hidden_sizes=(32, 32))
    policy.get_param_values()  # refreshes the numpy copy of the weights
    return policy


def sampler_rate(n_steps: int, worker_class: type, worker_args: dict,
                 builtin: bool = False) -> tuple[float, float]:
    env = GymEnv(ENV_ID)
    policy = make_policy(builtin, env)
    sampler = LocalSampler(policy, env, max_episode_length=500, seed=1,
                           worker_class=worker_class, worker_args=worker_args)
    params = policy.get_param_values()
    sampler.obtain_samples(0, 2000, params)  # warm-up
    with Clock() as clock:
        episodes = sampler.obtain_samples(1, n_steps, params)
    steps = int(episodes.lengths.sum())
    return steps / clock.wall, steps / clock.cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--builtin", action="store_true",
                        help="sample with trainflow's CategoricalMLPPolicy (needs TensorFlow)")
    args = parser.parse_args()
    rates: dict[str, list[tuple[float, float]]] = {"raw": [], "vec": [], "default": []}
    for _ in range(args.repeats):
        rates["raw"].append(raw_rate(args.steps))
        rates["vec"].append(sampler_rate(args.steps, VecWorker, {"n_envs": N_ENVS},
                                         args.builtin))
        rates["default"].append(sampler_rate(args.steps, DefaultWorker, {}, args.builtin))
    wall = {k: statistics.median(r[0] for r in v) for k, v in rates.items()}
    cpu = {k: statistics.median(r[1] for r in v) for k, v in rates.items()}
    policy = "CategoricalMLPPolicy" if args.builtin else "numpy 2x32 tanh MLP"
    print(f"CartPole-v1, {args.steps} steps, median of {args.repeats}; steps/s by wall clock "
          "| by process CPU time")
    rows = [("raw", f"raw env steps/s ({N_ENVS} envs, python loop, random actions)"),
            ("vec", f"VecWorker({N_ENVS}) + {policy}, LocalSampler"),
            ("default", f"DefaultWorker (1 env) + {policy}, LocalSampler")]
    for key, label in rows:
        ratio = ("" if key == "raw" else
                 f"   ratio to raw {wall[key] / wall['raw']:.2f} | {cpu[key] / cpu['raw']:.2f}")
        print(f"{label:<58} {wall[key]:>9,.0f} | {cpu[key]:>9,.0f}{ratio}")
    print(f"VecWorker / DefaultWorker: {wall['vec'] / wall['default']:.2f} | "
          f"{cpu['vec'] / cpu['default']:.2f}")

if __name__ == "__main__":
    main()
