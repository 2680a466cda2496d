"""Environment updates: callables that give a worker its next environment (garage's kinds)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from trainer.envs.environment import Environment


class EnvUpdate:
    """Base class of environment updates.

    A worker calls the update with its current environment (``None`` for the first one) and
    uses the environment it returns. Updates are deep-copied once per worker by the samplers.
    """

    def __call__(self, old_env: Environment | None = None) -> Environment:
        """Return the worker's next environment.

        Args:
            old_env: The worker's current environment, or ``None``.

        Returns:
            The environment to use from now on (may be ``old_env`` itself, changed).
        """
        raise NotImplementedError


class NewEnvUpdate(EnvUpdate):
    """Replace the environment with a new one built by ``env_constructor()``.

    Args:
        env_constructor: Builds the new environment; it must be picklable.
    """

    def __init__(self, env_constructor: Callable[[], Environment]) -> None:
        self._env_constructor = env_constructor

    def __call__(self, old_env: Environment | None = None) -> Environment:
        """Close ``old_env`` and return a freshly built environment."""
        if old_env is not None:
            old_env.close()
        return self._env_constructor()


class SetTaskUpdate(EnvUpdate):
    """Set the task of an environment (meta-RL), building one first if needed.

    Args:
        env_type: The environment class; built with no arguments if the worker has no
            environment of this type.
        task: Passed to the environment's ``set_task(task)``.
        wrapper_constructor: Applied as ``wrapper_constructor(env, task)`` to a newly built
            environment, or ``None``.
    """

    def __init__(self, env_type: type[Environment], task: Any,
                 wrapper_constructor: Callable[[Environment, Any], Environment] | None = None
                 ) -> None:
        self._env_type = env_type
        self._task = task
        self._wrapper_constructor = wrapper_constructor

    def _make_env(self) -> Environment:
        env = self._env_type()
        if self._wrapper_constructor is not None:
            env = self._wrapper_constructor(env, self._task)
        return env

    def __call__(self, old_env: Environment | None = None) -> Environment:
        """Return ``old_env`` with the task set, or a new environment if its type differs."""
        env = old_env if isinstance(old_env, self._env_type) else None
        if env is None:
            if old_env is not None:
                old_env.close()
            env = self._make_env()
        env.set_task(self._task)  # type: ignore[attr-defined]
        return env


class ExistingEnvUpdate(EnvUpdate):
    """Replace the environment with (a copy of) an existing one.

    Args:
        env: The environment; each worker gets its own deep copy.
    """

    def __init__(self, env: Environment) -> None:
        self._env = env

    def __call__(self, old_env: Environment | None = None) -> Environment:
        """Close ``old_env`` and return a deep copy of the stored environment."""
        if old_env is not None:
            old_env.close()
        return copy.deepcopy(self._env)


def apply_env_update(old_env: Environment | None, env_update: Any) -> Environment | None:
    """Return the environment a worker uses after ``env_update`` (garage's rules).

    Args:
        old_env: The worker's current environment, or ``None``.
        env_update: ``None`` (keep ``old_env``), an :class:`EnvUpdate` (called with
            ``old_env``) or an :class:`Environment` (replaces ``old_env``, which is closed).

    Returns:
        The environment to use.

    Raises:
        TypeError: If ``env_update`` is none of these.
    """
    if env_update is None:
        return old_env
    if isinstance(env_update, EnvUpdate):
        return env_update(old_env)
    if isinstance(env_update, Environment):
        if old_env is not None and old_env is not env_update:
            old_env.close()
        return env_update
    raise TypeError(f"Unknown environment update type. Got {type(env_update)!r}; pass None, an "
                    "Environment (e.g. a GymEnv) or an EnvUpdate.")
