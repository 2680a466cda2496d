"""Tiny numpy agents and a goal environment for the sampler tests."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class RandomPolicy:
    """Uniform random actions from the action space's shape, drawn from its own generator."""

    def __init__(self, action_space: gym.Space, seed: int = 0) -> None:
        self._space = action_space
        self._rng = np.random.default_rng(seed)
        self.params = np.zeros(3)
        self.resets: list[Any] = []

    def _draw(self, n: int) -> np.ndarray:
        if isinstance(self._space, gym.spaces.Discrete):
            return self._rng.integers(0, self._space.n, n)
        low, high = self._space.low, self._space.high
        return self._rng.uniform(low, high, (n,) + self._space.shape).astype(self._space.dtype)

    def get_actions(self, observations: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        n = len(observations)
        return self._draw(n), {"noise": self._rng.random(n)}

    def get_action(self, observation: Any) -> tuple[Any, dict[str, Any]]:
        actions, infos = self.get_actions([observation])
        return actions[0], {k: v[0] for k, v in infos.items()}

    def reset(self, do_resets: Any = None) -> None:
        self.resets.append(do_resets)

    def get_param_values(self) -> np.ndarray:
        return self.params.copy()

    def set_param_values(self, flat: np.ndarray) -> None:
        self.params = np.array(flat, dtype=float)


class ConstantPolicy(RandomPolicy):
    """Always takes the same action (identifies its worker in the tests)."""

    def __init__(self, action: Any, action_space: gym.Space) -> None:
        super().__init__(action_space)
        self.action = np.asarray(action, dtype=action_space.dtype)

    def get_actions(self, observations: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        n = len(observations)
        return np.stack([self.action] * n), {"noise": np.zeros(n)}


class PoleSignPolicy(RandomPolicy):
    """Deterministic CartPole controller: push towards the side the pole leans to."""

    def get_actions(self, observations: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        obs = np.asarray(observations)
        return (obs[:, 2] > 0).astype(np.int64), {"noise": obs[:, 0].astype(np.float64)}


class PointGoalEnv(gym.Env):
    """A point on a plane that never terminates; its goal is its task and shows in the info."""

    def __init__(self, goal: tuple[float, float] = (1.0, 1.0)) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
        self.action_space = gym.spaces.Box(-0.1, 0.1, (2,), np.float32)
        self._goal = np.asarray(goal, dtype=np.float32)
        self._point = np.zeros(2, dtype=np.float32)

    def set_task(self, goal: tuple[float, float]) -> None:
        self._goal = np.asarray(goal, dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None
              ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._point = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        return self._point.copy(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self._point = (self._point + np.clip(action, -0.1, 0.1)).astype(np.float32)
        reward = -float(np.linalg.norm(self._point - self._goal))
        return self._point.copy(), reward, False, False, {"goal": self._goal.copy()}
