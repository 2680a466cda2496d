"""LocalSampler: runs its workers one after another in the main process."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from trainer.episode_batch import EpisodeBatch
from trainer.errors import ConfigError
from trainer.samplers.default_worker import DefaultWorker
from trainer.samplers.sampler import Sampler
from trainer.samplers.worker import Worker
from trainer.samplers.worker_factory import WorkerFactory


def _non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ConfigError(f"{name}={value!r} is not valid: pass a non-negative integer number "
                          "of environment steps (e.g. the batch size, 4000).")
    return int(value)


class LocalSampler(Sampler):
    """Samples with workers that live in the main process (garage's ``LocalSampler``).

    Every worker gets its own deep copy of the environment (and of each environment update);
    agents are shared, not copied. Workers are visited round robin, one rollout each, until
    enough steps are collected, so ``obtain_samples`` overshoots by less than one rollout.

    Pickling keeps the workers with their environments' random and mid-episode state (garage
    rebuilt and re-seeded them), so a run resumed from a snapshot draws the same episodes as
    one that was never interrupted.

    Args:
        agents: One agent (policy) for all workers, or a list of one per worker. An agent has
            ``get_action(obs)``, ``get_actions(obs_batch)``, ``reset(do_resets=None)`` and
            ``get_param_values()``/``set_param_values(flat)``.
        envs: One environment (or ``EnvUpdate``) for all workers, or a list of one per worker.
        worker_factory: Builds the workers; if given, the remaining arguments are ignored.
        max_episode_length: See :class:`WorkerFactory`; required without ``worker_factory``.
        is_tf_worker: See :class:`WorkerFactory` (accepted, no effect).
        seed: See :class:`WorkerFactory`; ``None`` uses :func:`trainer.seeding.get_seed`.
        n_workers: See :class:`WorkerFactory` (default 1).
        worker_class: See :class:`WorkerFactory` (default :class:`DefaultWorker`).
        worker_args: See :class:`WorkerFactory`.

    Raises:
        TypeError: If neither ``worker_factory`` nor ``max_episode_length`` is given.
        ValueError: If a list of agents or environments has another length than
            ``n_workers``.

    Examples:
        >>> sampler = LocalSampler(policy, GymEnv("CartPole-v1"), max_episode_length=500,
        ...                        worker_class=VecWorker, worker_args={"n_envs": 8}, seed=1)
        >>> episodes = sampler.obtain_samples(0, 4000, policy.get_param_values())
    """

    def __init__(self, agents: Any, envs: Any, *, worker_factory: WorkerFactory | None = None,
                 max_episode_length: int | None = None, is_tf_worker: bool = False,
                 seed: int | None = None, n_workers: int = 1,
                 worker_class: type[Worker] = DefaultWorker,
                 worker_args: dict[str, Any] | None = None) -> None:
        if worker_factory is None and max_episode_length is None:
            raise TypeError("Must construct a sampler from WorkerFactory or parameters (at least "
                            "max_episode_length), e.g. LocalSampler(policy, env, "
                            "max_episode_length=env.spec.max_episode_length).")
        if worker_factory is None:
            worker_factory = WorkerFactory(max_episode_length=max_episode_length,
                                           is_tf_worker=is_tf_worker, seed=seed,
                                           n_workers=n_workers, worker_class=worker_class,
                                           worker_args=worker_args)
        self._factory = worker_factory
        agents = self._factory.prepare_worker_messages(agents)
        envs = self._factory.prepare_worker_messages(envs, preprocess=copy.deepcopy)
        self._workers = [self._factory(i) for i in range(self._factory.n_workers)]
        for worker, agent, env in zip(self._workers, agents, envs):
            worker.update_agent(agent)
            worker.update_env(env)
        self.total_env_steps = 0

    @property
    def worker_factory(self) -> WorkerFactory:
        """The factory that built the workers."""
        return self._factory

    @property
    def workers(self) -> list[Worker]:
        """The workers, in order."""
        return list(self._workers)

    def _update_workers(self, agent_update: Any, env_update: Any) -> None:
        agent_updates = self._factory.prepare_worker_messages(agent_update)
        env_updates = self._factory.prepare_worker_messages(env_update,
                                                            preprocess=copy.deepcopy)
        for worker, agent_up, env_up in zip(self._workers, agent_updates, env_updates):
            worker.update_agent(agent_up)
            worker.update_env(env_up)

    def obtain_samples(self, itr: int, num_samples: int, agent_update: Any,
                       env_update: Any = None) -> EpisodeBatch:
        """Collect at least ``num_samples`` environment steps, as whole episodes.

        Updates every worker, then takes one rollout per worker in turn (worker 0 first) and
        stops as soon as the total reaches ``num_samples``.

        Args:
            itr: The iteration number (unused).
            num_samples: Minimum number of steps (at least one episode is always returned).
            agent_update: Policy parameters or a new policy, one for all workers or a list of
                one per worker.
            env_update: An environment or ``EnvUpdate``, same rules, or ``None``.

        Returns:
            The episodes, in the order they completed.

        Raises:
            ConfigError: If ``num_samples`` is not a non-negative integer.
            ValueError: If an update list has another length than ``n_workers``.
        """
        num_samples = _non_negative_int("num_samples", num_samples)
        self._update_workers(agent_update, env_update)
        batches: list[EpisodeBatch] = []
        completed = 0
        while True:
            for worker in self._workers:
                batch = worker.rollout()
                batches.append(batch)
                completed += len(batch.rewards)
                if completed >= num_samples:
                    episodes = EpisodeBatch.concatenate(*batches)
                    self.total_env_steps += completed
                    return episodes

    def obtain_exact_episodes(self, n_eps_per_worker: int, agent_update: Any,
                              env_update: Any = None) -> EpisodeBatch:
        """Collect exactly ``n_eps_per_worker`` episodes per worker, grouped by worker.

        A worker that completes several episodes at once (``VecWorker``) may finish more than
        needed; the surplus is dropped.

        Args:
            n_eps_per_worker: Episodes per worker (positive).
            agent_update: As in :meth:`obtain_samples`.
            env_update: As in :meth:`obtain_samples`.

        Returns:
            ``n_workers * n_eps_per_worker`` episodes, worker 0's first.

        Raises:
            ConfigError: If ``n_eps_per_worker`` is not a positive integer.
        """
        if (isinstance(n_eps_per_worker, bool) or not isinstance(n_eps_per_worker, int)
                or n_eps_per_worker < 1):
            raise ConfigError(f"n_eps_per_worker={n_eps_per_worker!r} is not valid: pass a "
                              "positive integer number of episodes per worker.")
        self._update_workers(agent_update, env_update)
        batches: list[EpisodeBatch] = []
        for worker in self._workers:
            n_eps = 0
            worker_batches = []
            while n_eps < n_eps_per_worker:
                batch = worker.rollout()
                worker_batches.append(batch)
                n_eps += len(batch.lengths)
            if n_eps > n_eps_per_worker:
                episodes = EpisodeBatch.concatenate(*worker_batches).split()
                worker_batches = episodes[:n_eps_per_worker]
            batches.extend(worker_batches)
        episodes = EpisodeBatch.concatenate(*batches)
        self.total_env_steps += int(episodes.lengths.sum())
        return episodes

    def shutdown_worker(self) -> None:
        """Shut every worker down (closes their environments)."""
        for worker in self._workers:
            worker.shutdown()
