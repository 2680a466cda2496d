"""Shared fixtures for the policy tests: a default TF session and specs of real environments."""

from __future__ import annotations

from collections.abc import Iterator

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from trainer import set_seed
from trainer.envs import EnvSpec


@pytest.fixture
def sess() -> Iterator[tf.compat.v1.Session]:
    """A fresh graph and its session, both default for the test (what TFTrainer enters)."""
    set_seed(7)
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        yield session


def env_spec(env_id: str) -> EnvSpec:
    """The EnvSpec of a registered gymnasium environment."""
    env = gym.make(env_id)
    try:
        return EnvSpec(
            env.observation_space,
            env.action_space,
            env.spec.max_episode_steps if env.spec else None,
        )
    finally:
        env.close()


def observations(env_id: str, n: int, seed: int = 0) -> np.ndarray:
    """``n`` observations visited by a random walk in the real environment."""
    env = gym.make(env_id)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    out = [obs]
    while len(out) < n:
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            obs, _ = env.reset()
        out.append(obs)
    env.close()
    return np.asarray(out)


def graph_dist_info(sess: tf.compat.v1.Session, policy, obs: np.ndarray) -> dict[str, np.ndarray]:
    """The policy's TF-graph dist_info for flat observations ``obs`` (N, obs_dim)."""
    obs_ph = tf.compat.v1.placeholder(tf.float32, (None, policy.obs_dim))
    dist = policy.build(obs_ph)
    return sess.run(dist.dist_info, {obs_ph: obs})
