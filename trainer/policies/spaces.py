"""Fast flattening of observations for policies and baselines.

Networks see observations as flat float32 vectors, as ``gymnasium.spaces.flatten`` makes them
(Discrete observations become one-hot vectors). The common cases (Box, Discrete) get a
vectorised path because it runs on every environment step; other spaces fall back to gymnasium.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from trainer.errors import ConfigError


class ObservationFlattener:
    """Turn a batch of observations of ``space`` into an ``(N, flat_dim)`` float32 array.

    Args:
        space: The observation space.

    Raises:
        ConfigError: If ``space`` is not a gymnasium space.
    """

    def __init__(self, space: gym.Space) -> None:
        if not isinstance(space, gym.Space):
            raise ConfigError(
                f"observation_space={space!r} is not a gymnasium space: give the policy an "
                "env_spec whose observation_space is a gymnasium.spaces.Space.")
        self.space = space
        self.flat_dim = int(gym.spaces.flatdim(space))
        self._is_box = isinstance(space, gym.spaces.Box)
        self._is_discrete = isinstance(space, gym.spaces.Discrete)
        if self._is_discrete:
            self._eye = np.eye(self.flat_dim, dtype=np.float32)
            self._start = int(space.start)

    def flatten_n(self, observations: Any) -> np.ndarray:
        """Flatten a batch of observations.

        Args:
            observations: A sequence or array of ``N`` observations of the space. For a Box
                space an ``(N, *shape)`` array; an ``(N, flat_dim)`` float array is taken as
                already flat.

        Returns:
            A C-contiguous ``(N, flat_dim)`` float32 array.
        """
        if self._is_box:
            obs = np.asarray(observations, dtype=np.float32)
            if obs.ndim != 2 or obs.shape[1] != self.flat_dim:
                obs = obs.reshape(-1, self.flat_dim)
            return obs
        if isinstance(observations, np.ndarray) and observations.ndim == 2 \
                and observations.shape[1] == self.flat_dim and observations.dtype.kind == "f":
            # Already flat (e.g. one-hot rows stored by a sampler).
            return np.ascontiguousarray(observations, dtype=np.float32)
        if self._is_discrete:
            idx = np.asarray(observations, dtype=np.int64).reshape(-1) - self._start
            return self._eye[idx]
        return np.asarray([gym.spaces.flatten(self.space, o) for o in observations],
                          dtype=np.float32).reshape(-1, self.flat_dim)

    def flatten(self, observation: Any) -> np.ndarray:
        """Flatten one observation into a ``(1, flat_dim)`` float32 array.

        Args:
            observation: One observation of the space.
        """
        if self._is_box or self._is_discrete:
            return self.flatten_n(np.asarray(observation)[None])
        return np.asarray(gym.spaces.flatten(self.space, observation),
                          dtype=np.float32).reshape(1, self.flat_dim)

    def __getstate__(self) -> dict[str, Any]:
        return {"space": self.space}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["space"])
