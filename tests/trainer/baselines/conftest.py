"""Shared fixtures for the baseline tests: a default TF session, episodes of real envs."""

from __future__ import annotations

from collections.abc import Iterator

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from trainer import set_seed


@pytest.fixture
def sess() -> Iterator[tf.compat.v1.Session]:
    """A fresh graph and its session, both default for the test (what TFTrainer enters)."""
    set_seed(5)
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        yield session


def episodes(env_id: str, n: int, seed: int = 0, discount: float = 0.99) -> list[dict]:
    """``n`` random-action episodes with their discounted returns, as baselines get them."""
    env = gym.make(env_id)
    env.action_space.seed(seed)
    paths = []
    obs, _ = env.reset(seed=seed)
    for _ in range(n):
        observations, rewards = [obs], []
        while True:
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            rewards.append(reward)
            if terminated or truncated:
                break
            observations.append(obs)
        returns = np.zeros(len(rewards))
        running = 0.0
        for t in reversed(range(len(rewards))):
            running = rewards[t] + discount * running
            returns[t] = running
        paths.append({"observations": np.asarray(observations), "returns": returns})
        obs, _ = env.reset()
    env.close()
    return paths


def explained_variance(predicted: np.ndarray, target: np.ndarray) -> float:
    """``1 - Var(target - predicted) / Var(target)``."""
    return float(1.0 - np.var(target - predicted) / np.var(target))
