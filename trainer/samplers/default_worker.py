"""DefaultWorker: samples one episode at a time in a single environment."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from trainer.envs.environment import Environment, EnvStep
from trainer.episode_batch import EpisodeBatch, StepType, step_types_array
from trainer.samplers.env_update import apply_env_update
from trainer.samplers.worker import Worker, derive_env_seed


def apply_agent_update(agent: Any, agent_update: Any) -> Any:
    """Return the agent after ``agent_update`` (garage's rules).

    Args:
        agent: The current agent.
        agent_update: A ``dict``, ``tuple`` or ``np.ndarray`` of parameters (passed to
            ``agent.set_param_values``), ``None`` (no change) or a new agent object.

    Returns:
        The agent to use.
    """
    if isinstance(agent_update, dict | tuple | np.ndarray):
        agent.set_param_values(agent_update)
        return agent
    return agent if agent_update is None else agent_update


def stack_infos(infos: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Stack a list of per-step info dicts into a dict of arrays (nested dicts recursively)."""
    if not infos:
        return {}
    out: dict[str, Any] = {}
    for key, first in infos[0].items():
        values = [info[key] for info in infos]
        out[key] = stack_infos(values) if isinstance(first, dict) else np.asarray(values)
    return out


class DefaultWorker(Worker):
    """Samples whole episodes one by one in one environment (garage's ``DefaultWorker``).

    ``rollout()`` resets the environment and the agent, steps until the episode's last step
    (``TERMINAL`` or ``TIMEOUT``) or ``max_episode_length`` steps, and returns a one-episode
    batch. Fixes of garage's quirks: the recorded last observation is the one after the last
    step (garage kept the one before it on ``TERMINAL`` steps), and an episode cut by
    ``max_episode_length`` ends with a ``TIMEOUT`` step (garage left it ``MID``).

    Seeding: every environment the worker installs is seeded through
    :meth:`Environment.seed` with :func:`derive_env_seed` of ``(seed, worker_number, n-th
    environment)``; the process-global generators are left alone (garage re-seeded them).

    Args:
        seed: The sampler's seed, or ``None`` for unseeded environments.
        max_episode_length: Episodes are cut after this many steps.
        worker_number: This worker's index in its sampler.
    """

    def __init__(self, *, seed: int | None, max_episode_length: int,
                 worker_number: int) -> None:
        super().__init__(seed=seed, max_episode_length=max_episode_length,
                         worker_number=worker_number)
        self.agent: Any = None
        self.env: Environment | None = None
        self._env_generation = 0
        self._prev_obs: Any = None
        self._eps_length = 0
        self._clear()
        self.worker_init()

    def _clear(self) -> None:
        self._observations: list[Any] = []
        self._last_observations: list[Any] = []
        self._env_steps: list[EnvStep] = []
        self._step_types: list[StepType] = []
        self._agent_infos: defaultdict[str, list[Any]] = defaultdict(list)
        self._episode_infos: defaultdict[str, list[Any]] = defaultdict(list)
        self._lengths: list[int] = []

    def update_agent(self, agent_update: Any) -> None:
        """Update the agent.

        Args:
            agent_update: Parameters (``dict``, ``tuple`` or ``np.ndarray``, passed to
                ``agent.set_param_values``), a new agent object, or ``None`` (no change).
        """
        self.agent = apply_agent_update(self.agent, agent_update)

    def update_env(self, env_update: Any) -> None:
        """Update the environment.

        Args:
            env_update: ``None`` (keep), an ``EnvUpdate`` (called with the current
                environment) or an ``Environment`` (replaces the current one, which is
                closed). A new environment object is seeded (see the class docstring).

        Raises:
            TypeError: If ``env_update`` is of another type ('Unknown environment update
                type.').
        """
        env = apply_env_update(self.env, env_update)
        if env is not self.env and env is not None:
            self._seed_env(env, self._worker_number)
        self.env = env

    def _seed_env(self, env: Environment, env_index: int) -> None:
        if self._seed is not None:
            env.seed(derive_env_seed(self._seed, env_index, self._env_generation))
        self._env_generation += 1

    def _check_ready(self) -> None:
        if self.agent is None or self.env is None:
            missing = "agent" if self.agent is None else "environment"
            raise RuntimeError(f"worker {self._worker_number} has no {missing}: give it one with "
                               "update_agent()/update_env(), or build the sampler with agents "
                               "and envs.")

    def start_episode(self) -> None:
        """Reset the environment and the agent to begin an episode."""
        self._check_ready()
        self._eps_length = 0
        self._prev_obs, episode_info = self.env.reset()
        for key, value in episode_info.items():
            self._episode_infos[key].append(value)
        self.agent.reset()

    def step_episode(self) -> bool:
        """Take one step of the current episode.

        Returns:
            ``True`` if the episode is complete.
        """
        action, agent_info = self.agent.get_action(self._prev_obs)
        env_step = self.env.step(action)
        self._observations.append(self._prev_obs)
        self._env_steps.append(env_step)
        for key, value in agent_info.items():
            self._agent_infos[key].append(value)
        self._eps_length += 1
        self._prev_obs = env_step.observation
        step_type = env_step.step_type
        done = env_step.last
        if not done and self._eps_length >= self._max_episode_length:
            step_type, done = StepType.TIMEOUT, True
        self._step_types.append(step_type)
        if done:
            self._lengths.append(self._eps_length)
            self._last_observations.append(env_step.observation)
        return done

    def collect_episode(self) -> EpisodeBatch:
        """Return the episodes completed since the last call, and forget them.

        Returns:
            A batch of the completed episodes.

        Raises:
            RuntimeError: If no episode completed since the last call.
        """
        if not self._lengths:
            raise RuntimeError("no episode completed since the last collect_episode(); call "
                               "step_episode() until it returns True.")
        _, actions, rewards, _, env_infos, _ = zip(*self._env_steps)
        batch = EpisodeBatch._unchecked(
            env_spec=self.env.spec,
            episode_infos={k: np.asarray(v) for k, v in self._episode_infos.items()},
            observations=np.asarray(self._observations),
            last_observations=np.asarray(self._last_observations),
            actions=np.asarray(actions),
            rewards=np.fromiter(rewards, dtype=np.float64, count=len(rewards)),
            env_infos=stack_infos(env_infos),
            agent_infos={k: np.asarray(v) for k, v in self._agent_infos.items()},
            step_types=step_types_array(self._step_types),
            lengths=np.asarray(self._lengths, dtype=np.int64),
        )
        self._clear()
        return batch

    def rollout(self) -> EpisodeBatch:
        """Sample one whole episode.

        Returns:
            A batch holding that episode.

        Raises:
            RuntimeError: If the worker has no agent or no environment.
        """
        self.start_episode()
        while not self.step_episode():
            pass
        return self.collect_episode()

    def shutdown(self) -> None:
        """Close the environment."""
        if self.env is not None:
            self.env.close()
