"""Microseconds per call of the built-in policies' numpy sampling path, next to plain numpy.

The sampler calls ``policy.get_actions`` once per vector step, so its cost bounds sampling speed
(the algorithms issue asks for at least half the raw env rate). References: a plain numpy 2x32
tanh MLP forward pass, and the same with a Gumbel-max categorical sample (performance-notes.md,
section 2c, measured 5.3 and 8.6 us for 8 observations).

    .venv/bin/python benchmarks/policy_forward.py
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import timeit  # noqa: E402
from collections.abc import Callable  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from trainer.envs import EnvSpec  # noqa: E402
from trainer.policies import CategoricalMLPPolicy, GaussianMLPPolicy  # noqa: E402


def spec_of(env_id: str) -> tuple[EnvSpec, np.ndarray]:
    """The env's spec and a batch of 8 sampled observations."""
    env = gym.make(env_id)
    obs = np.stack([env.observation_space.sample() for _ in range(8)])
    return EnvSpec(env.observation_space, env.action_space), obs


def best_us(fn: Callable[[], object], rounds: int = 7, number: int = 20_000) -> float:
    """Fastest microseconds per call over ``rounds`` timings (the least disturbed one)."""
    return min(min(timeit.repeat(fn, number=number, repeat=3)) / number * 1e6
               for _ in range(rounds))


def main() -> None:
    cartpole_spec, obs8 = spec_of("CartPole-v1")
    pendulum_spec, pendulum_obs8 = spec_of("Pendulum-v1")
    rng = np.random.default_rng(0)
    with tf.compat.v1.Session(graph=tf.Graph()):
        categorical = CategoricalMLPPolicy(cartpole_spec)  # (32, 32) tanh, garage's default
        gaussian = GaussianMLPPolicy(pendulum_spec)
        w0, b0, w1, b1, w2, b2 = (rng.standard_normal(s).astype(np.float32) for s in
                                  [(4, 32), (32,), (32, 32), (32,), (32, 2), (2,)])

        def numpy_forward() -> np.ndarray:
            hidden = np.tanh(np.tanh(obs8 @ w0 + b0) @ w1 + b1)
            return hidden @ w2 + b2

        def numpy_forward_gumbel() -> np.ndarray:
            logits = numpy_forward()
            return (logits - np.log(-np.log(rng.random(logits.shape)))).argmax(1)

        cases = {
            "plain numpy forward (8 obs)": numpy_forward,
            "plain numpy forward + Gumbel sample (8 obs)": numpy_forward_gumbel,
            "CategoricalMLPPolicy.get_actions (8 obs)": lambda: categorical.get_actions(obs8),
            "CategoricalMLPPolicy.get_action (1 obs)": lambda: categorical.get_action(obs8[0]),
            "GaussianMLPPolicy.get_actions (8 obs)": lambda: gaussian.get_actions(pendulum_obs8),
        }
        for name, fn in cases.items():
            print(f"{name:<46}{best_us(fn):8.2f} us")


if __name__ == "__main__":
    main()
