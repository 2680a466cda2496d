"""Sampler throughput on CartPole-v1: raw env step rates vs. VecWorker and DefaultWorker sampling.

Prints, in one run (medians over --repeats interleaved rounds; ratios are paired per round):

* raw, plain envs: 8 ``gym.make("CartPole-v1")`` envs stepped in a Python loop with
  precomputed random actions (reset on terminated/truncated); the reference rate;
* raw, native vector env: ``gym.make_vec(..., num_envs=8, vectorization_mode=
  "vector_entry_point")`` (numpy ``CartPoleVectorEnv``) with precomputed actions;
* ``VecWorker(n_envs=8)`` through ``LocalSampler.obtain_samples`` on its native vector env path
  and on its per-environment loop (``native_vec=False``);
* ``DefaultWorker`` (one env) through ``LocalSampler.obtain_samples``;
* each rate's ratio to the plain-env raw rate (the algorithms issue requires >= 0.5 for the
  built-in policy with 8 envs; the target is >= 0.8).

The samplers use trainflow's ``CategoricalMLPPolicy((32, 32))``, built in a
``tf.compat.v1.Session(graph=tf.Graph())`` with one TF thread; it samples with numpy from a copy
of its weights (refreshed by ``get_param_values``). ``--numpy-policy`` swaps in a plain numpy
2x32 tanh MLP and skips TensorFlow.

Rates are given per second of wall-clock time and per second of this process's CPU time; on a
shared machine the CPU-time rates (and their ratios) are the steadier ones.

Usage: ``.venv/bin/python benchmarks/sampler_throughput.py [--steps 30000] [--repeats 7]
[--numpy-policy]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


Rate = tuple[float, float]  # steps per wall-clock second, steps per CPU second


def raw_plain_rate(n_steps: int) -> Rate:
    """8 gym.make envs in a Python loop, precomputed actions."""
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


def raw_native_rate(n_steps: int) -> Rate:
    """One numpy vector env of 8 copies (it resets finished copies itself), precomputed actions."""
    venv = gym.make_vec(ENV_ID, num_envs=N_ENVS, vectorization_mode="vector_entry_point")
    venv.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, (n_steps // N_ENVS + 1, N_ENVS))
    with Clock() as clock:
        for row in actions:
            venv.step(row)
    steps = len(actions) * N_ENVS
    return steps / clock.wall, steps / clock.cpu


def sampler_rate(policy: Any, n_steps: int, worker_class: type, worker_args: dict) -> Rate:
    """``LocalSampler.obtain_samples`` steps/s (counting recorded steps only)."""
    sampler = LocalSampler(policy, GymEnv(ENV_ID), max_episode_length=500, seed=1,
                           worker_class=worker_class, worker_args=worker_args)
    params = policy.get_param_values()
    sampler.obtain_samples(0, 2000, params)  # warm-up
    with Clock() as clock:
        episodes = sampler.obtain_samples(1, n_steps, params)
    steps = int(episodes.lengths.sum())
    if worker_class is VecWorker:
        native = sampler.workers[0].uses_native_vec
        if native != worker_args.get("native_vec", True):
            raise RuntimeError(f"VecWorker took the {'native' if native else 'loop'} path, "
                               "not the one this row measures.")
    return steps / clock.wall, steps / clock.cpu


def builtin_policy() -> tuple[Any, Callable[[], None]]:
    """Build CategoricalMLPPolicy((32, 32)) in a new one-thread session; return it, a closer."""
    import tensorflow as tf

    from trainer.policies import CategoricalMLPPolicy

    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1,
                                      inter_op_parallelism_threads=1)
    session = tf.compat.v1.Session(graph=tf.Graph(), config=config)
    session.__enter__()
    graph_context = session.graph.as_default()
    graph_context.__enter__()
    policy = CategoricalMLPPolicy(GymEnv(ENV_ID).spec, hidden_sizes=(32, 32))
    policy.get_param_values()  # refreshes the numpy copy of the weights

    def close() -> None:
        graph_context.__exit__(None, None, None)
        session.__exit__(None, None, None)

    return policy, close


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--numpy-policy", action="store_true",
                        help="sample with a plain numpy MLP instead of CategoricalMLPPolicy")
    args = parser.parse_args()
    if args.numpy_policy:
        policy, close, name = NumpyMLPPolicy(4, 2), (lambda: None), "numpy 2x32 tanh MLP"
    else:
        (policy, close), name = builtin_policy(), "CategoricalMLPPolicy"
    rows: list[tuple[str, str, Callable[[], Rate]]] = [
        ("raw", f"raw: {N_ENVS} plain envs, python loop", lambda: raw_plain_rate(args.steps)),
        ("raw_native", f"raw: native vector env x{N_ENVS}",
         lambda: raw_native_rate(args.steps)),
        ("vec_native", f"VecWorker({N_ENVS}) native vector env path",
         lambda: sampler_rate(policy, args.steps, VecWorker, {"n_envs": N_ENVS})),
        ("vec_loop", f"VecWorker({N_ENVS}) per-env loop (native_vec=False)",
         lambda: sampler_rate(policy, args.steps, VecWorker,
                              {"n_envs": N_ENVS, "native_vec": False})),
        ("default", "DefaultWorker (1 env)",
         lambda: sampler_rate(policy, args.steps, DefaultWorker, {})),
    ]
    rates: dict[str, list[Rate]] = {key: [] for key, _, _ in rows}
    try:
        for _ in range(args.repeats):  # interleaved rounds: a load change hits every row
            for key, _, measure in rows:
                rates[key].append(measure())
    finally:
        close()
    median = statistics.median
    # Ratios are taken within each round (paired), then the median over the rounds: on a
    # shared machine this cancels most of the load drift between rounds.
    ratio = {key: [tuple(r[i] / raw[i] for i in (0, 1)) for r, raw in zip(v, rates["raw"])]
             for key, v in rates.items()}
    print(f"{ENV_ID}, {args.steps} steps per measurement, {args.repeats} interleaved rounds "
          f"(medians); samplers use {name} via LocalSampler; load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"{'':<46} {'steps/s wall':>12} | {'CPU':>9}   ratio to plain raw: wall | CPU")
    for key, label, _ in rows:
        print(f"{label:<46} {median(r[0] for r in rates[key]):>12,.0f} | "
              f"{median(r[1] for r in rates[key]):>9,.0f}   "
              f"{median(r[0] for r in ratio[key]):>23.2f} | "
              f"{median(r[1] for r in ratio[key]):.2f}")
    for key, label, _ in rows[1:]:
        print(f"per-round wall ratios, {label}: "
              + ", ".join(f"{r[0]:.2f}" for r in ratio[key]))


if __name__ == "__main__":
    main()
