"""The Worker interface: one sampling unit that owns environments and uses an agent."""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from trainer.episode_batch import EpisodeBatch


def derive_env_seed(seed: int, env_index: int, generation: int) -> int:
    """Return a 32-bit seed for one environment, independent of every other environment's.

    Args:
        seed: The sampler's seed.
        env_index: ``worker_number * n_envs + slot``: the environment's place among all of the
            sampler's environments, so a ``VecWorker(n_envs=k)`` seeds its environments like
            ``k`` single-environment workers.
        generation: How many environments this slot had before (0 for the first), so a
            replaced environment does not repeat its predecessor's episodes.

    Returns:
        The seed, in ``[0, 2**32)``.
    """
    return int(np.random.SeedSequence([seed, env_index, generation]).generate_state(1)[0])


class Worker(abc.ABC):
    """Collects episodes with one agent in its environment(s) (garage's ``Worker``).

    Unlike garage's, workers are picklable, together with their environments and any
    unfinished episode: a sampler snapshot resumes exactly.

    Args:
        seed: The sampler's seed, or ``None`` for unseeded environments.
        max_episode_length: Episodes are cut after this many steps (their last step becomes
            ``TIMEOUT``).
        worker_number: This worker's index in its sampler, ``0 <= worker_number < n_workers``.
    """

    def __init__(self, *, seed: int | None, max_episode_length: int,
                 worker_number: int) -> None:
        self._seed = seed
        self._max_episode_length = max_episode_length
        self._worker_number = worker_number

    @property
    def worker_number(self) -> int:
        """This worker's index in its sampler."""
        return self._worker_number

    def worker_init(self) -> None:  # noqa: B027 - an optional hook, empty by design
        """Hook run once when the worker is built (garage re-seeded the global RNGs here)."""

    @abc.abstractmethod
    def update_agent(self, agent_update: Any) -> None:
        """Update the agent; see :class:`~trainer.samplers.DefaultWorker`.

        Args:
            agent_update: New parameters or a new agent.
        """

    @abc.abstractmethod
    def update_env(self, env_update: Any) -> None:
        """Update the environment; see :class:`~trainer.samplers.DefaultWorker`.

        Args:
            env_update: A new environment, an ``EnvUpdate`` or ``None``.
        """

    @abc.abstractmethod
    def rollout(self) -> EpisodeBatch:
        """Sample at least one whole episode and return the completed episodes."""

    def start_episode(self) -> None:
        """Begin a new episode."""
        raise NotImplementedError

    def step_episode(self) -> bool:
        """Take one step; return ``True`` when an episode is complete."""
        raise NotImplementedError

    def collect_episode(self) -> EpisodeBatch:
        """Return the episodes completed since the last call."""
        raise NotImplementedError

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Release the worker's resources (close its environments)."""
