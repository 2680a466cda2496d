"""The Sampler interface: collects episodes with a set of workers."""

from __future__ import annotations

import abc
from typing import Any

from trainer.episode_batch import EpisodeBatch


class Sampler(abc.ABC):
    """Collects episodes for an algorithm (garage's ``garage.sampler.Sampler``).

    Attributes:
        total_env_steps: Environment steps in every episode this sampler returned.
    """

    total_env_steps: int = 0

    @classmethod
    def from_worker_factory(cls, worker_factory: Any, agents: Any, envs: Any) -> Sampler:
        """Build a sampler from a :class:`~trainer.samplers.WorkerFactory` (preferred).

        Args:
            worker_factory: Builds the workers.
            agents: One agent for all workers, or a list of one per worker.
            envs: One environment (or ``EnvUpdate``) for all workers, or a list of one per
                worker.

        Returns:
            The sampler.
        """
        return cls(agents, envs, worker_factory=worker_factory)  # type: ignore[call-arg]

    def start_worker(self) -> None:  # noqa: B027 - garage's deprecated no-op
        """Do nothing (deprecated in garage; kept for compatibility)."""

    @abc.abstractmethod
    def obtain_samples(self, itr: int, num_samples: int, agent_update: Any,
                       env_update: Any = None) -> EpisodeBatch:
        """Collect at least ``num_samples`` environment steps, as whole episodes.

        Args:
            itr: The iteration number (unused; kept for garage compatibility).
            num_samples: Minimum number of steps; the batch overshoots by less than an
                episode per worker.
            agent_update: Policy parameters or a new policy, one for all workers or a list of
                one per worker.
            env_update: An environment or ``EnvUpdate``, same rules, or ``None``.

        Returns:
            The episodes.
        """

    def obtain_exact_episodes(self, n_eps_per_worker: int, agent_update: Any,
                              env_update: Any = None) -> EpisodeBatch:
        """Collect exactly ``n_eps_per_worker`` episodes per worker, worker 0's first.

        Args:
            n_eps_per_worker: Episodes per worker.
            agent_update: As in :meth:`obtain_samples`.
            env_update: As in :meth:`obtain_samples`.

        Returns:
            The episodes.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement "
                                  "obtain_exact_episodes().")

    @abc.abstractmethod
    def shutdown_worker(self) -> None:
        """Shut the workers down and release their environments."""
