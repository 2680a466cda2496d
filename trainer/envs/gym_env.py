"""GymEnv: a gymnasium 1.x environment behind the :class:`Environment` interface."""

from __future__ import annotations

import sys
import warnings
from typing import Any

import cloudpickle
import gymnasium as gym
import numpy as np

from trainer.envs.env_spec import EnvSpec
from trainer.envs.environment import Environment, EnvStep
from trainer.episode_batch import StepType
from trainer.errors import ConfigError

_FIRST, _MID, _TERMINAL, _TIMEOUT = (StepType.FIRST, StepType.MID, StepType.TERMINAL,
                                     StepType.TIMEOUT)


def _check_max_episode_length(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"max_episode_length={value!r} is not valid: pass a positive integer "
                          "(the time limit in steps) or None to use the environment's own.")
    return int(value)


def _make(env_id: str, max_episode_length: int | None) -> tuple[gym.Env, int | None]:
    """Make a registered environment; return it and its registered time limit."""
    kwargs = {} if max_episode_length is None else {"max_episode_steps": max_episode_length}
    try:
        registered_limit = gym.spec(env_id).max_episode_steps
        return gym.make(env_id, **kwargs), registered_limit
    except (gym.error.UnregisteredEnv, gym.error.DeprecatedEnv) as exc:
        raise ConfigError(f"GymEnv: unknown environment id {env_id!r} ({exc}). Pass a registered "
                          "gymnasium id such as 'CartPole-v1' (list them with "
                          "gymnasium.pprint_registry()) or a gymnasium.Env instance.") from exc


def _gym_time_limit(env: gym.Env) -> int | None:
    if env.spec is not None and env.spec.max_episode_steps is not None:
        return int(env.spec.max_episode_steps)
    limit = getattr(env, "_max_episode_steps", None)
    return None if limit is None else int(limit)


class GymEnv(Environment):
    """Wraps a gymnasium environment (garage's ``garage.envs.GymEnv``).

    gymnasium's ``terminated`` becomes a ``TERMINAL`` step; ``truncated``, or reaching
    ``max_episode_length`` steps, a ``TIMEOUT`` step. Every ``env_info`` carries garage's flags
    ``TimeLimit.truncated`` and ``GymEnv.TimeLimitTerminated`` (both ``True`` exactly on
    ``TIMEOUT`` steps). Unlike garage, a step that is both terminated and at the time limit is
    ``TERMINAL``: the state is terminal, so algorithms must not bootstrap from it.

    Pickling keeps the wrapped environment itself (cloudpickled), so its random generators,
    its time-limit counter and a running episode survive a snapshot: an unpickled copy
    continues exactly where the original was. garage re-created the environment instead.
    Environments built on ``gymnasium.utils.EzPickle`` (Box2D, MuJoCo, Atari) re-run their
    constructor on unpickling and lose that state.

    Public attributes of the wrapped environment are forwarded (``GymEnv(...).unwrapped``).

    Args:
        env: A registered gymnasium id (made with ``gym.make``) or a ``gymnasium.Env``.
        is_image: Whether the observations are images (kept for garage compatibility).
        max_episode_length: The time limit. Default: the environment's own
            (``max_episode_steps`` of its gym spec). A different explicit value overrides it
            with a warning; for an id it is passed to ``gym.make`` as ``max_episode_steps``.

    Raises:
        ValueError: If ``env`` is neither a string nor a ``gymnasium.Env``.
        ConfigError: If the id is not registered, or ``max_episode_length`` is not a positive
            integer.

    Examples:
        >>> env = GymEnv("CartPole-v1")
        >>> env.seed(1)
        >>> obs, episode_info = env.reset()
        >>> env_step = env.step(env.action_space.sample())
    """

    def __init__(self, env: str | gym.Env, is_image: bool = False,
                 max_episode_length: int | None = None) -> None:
        max_episode_length = _check_max_episode_length(max_episode_length)
        if isinstance(env, str):
            gym_env, gym_limit = _make(env, max_episode_length)
        elif isinstance(env, gym.Env):
            gym_env, gym_limit = env, _gym_time_limit(env)
        else:
            raise ValueError("GymEnv can take env as either a string, or an Gym environment, but "
                             f"got type {type(env)} instead. Pass an id such as 'CartPole-v1' or "
                             "gymnasium.make(...).")
        if max_episode_length is None:
            max_episode_length = gym_limit
        elif gym_limit is not None and gym_limit != max_episode_length:
            note = ("" if isinstance(env, str) or max_episode_length < gym_limit else
                    f" The environment's own TimeLimit still ends episodes after {gym_limit} "
                    "steps; make it with gym.make(id, max_episode_steps=...) to change that.")
            warnings.warn(f"GymEnv: max_episode_length={max_episode_length} overrides the "
                          f"environment's max_episode_steps={gym_limit}.{note}", UserWarning,
                          stacklevel=2)
        self._env = gym_env
        self._is_image = is_image
        self._max_episode_length = max_episode_length
        # The step count that is a TIMEOUT; an unreachable count when there is no limit.
        self._limit = sys.maxsize if max_episode_length is None else max_episode_length
        self._spec = EnvSpec(observation_space=gym_env.observation_space,
                             action_space=gym_env.action_space,
                             max_episode_length=max_episode_length)
        self._step_cnt: int | None = None
        self._pending_seed: int | None = None
        self._env_info_keys: frozenset[str] | None = None
        self.last_reset_info: dict[str, Any] = {}

    # ------------------------------------------------------------------ properties

    @property
    def spec(self) -> EnvSpec:
        """The spaces and time limit; ``max_episode_length`` survives pickling."""
        return self._spec

    @property
    def render_modes(self) -> list[str]:
        """The render modes the wrapped environment declares."""
        return list(self._env.metadata.get("render_modes", []))

    @property
    def is_image(self) -> bool:
        """Whether the observations are images."""
        return self._is_image

    @property
    def max_episode_length(self) -> int | None:
        """The time limit in steps, or ``None``."""
        return self._max_episode_length

    @property
    def gym_env(self) -> gym.Env:
        """The wrapped gymnasium environment."""
        return self._env

    # ------------------------------------------------------------------ stepping

    def seed(self, seed: int | None) -> None:
        """Seed the environment at the next :meth:`reset`, and its spaces now.

        Args:
            seed: The seed; ``None`` leaves the generators as they are.
        """
        self._pending_seed = seed
        if seed is not None:
            self._env.action_space.seed(seed)
            self._env.observation_space.seed(seed)

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new episode.

        Args:
            seed: Seed the environment first (gymnasium's ``reset(seed=...)``); default the
                seed given to :meth:`seed`, if any, once.
            options: gymnasium's ``reset`` options.

        Returns:
            The first observation and an empty ``episode_info`` dict (garage's behaviour;
            gymnasium's reset info is in :attr:`last_reset_info`).
        """
        if seed is None:
            seed, self._pending_seed = self._pending_seed, None
        observation, self.last_reset_info = self._env.reset(seed=seed, options=options)
        self._step_cnt = 0
        return observation, {}

    def step(self, action: Any) -> EnvStep:
        """Take one action; see the class docstring for the step types.

        Args:
            action: An element of the action space.

        Returns:
            The step's record.

        Raises:
            RuntimeError: If ``reset()`` was not called before, or after the last step; or if
                the environment returns other ``info`` keys than on the first step.
        """
        cnt = self._step_cnt
        if cnt is None:
            raise RuntimeError("reset() must be called before step()! Call env.reset() to start "
                               "an episode, and again after its last step.")
        observation, reward, terminated, truncated, info = self._env.step(action)
        cnt += 1
        if terminated:
            step_type = _TERMINAL
        elif truncated or cnt >= self._limit:
            step_type = _TIMEOUT
        else:
            step_type = _FIRST if cnt == 1 else _MID
        keys = self._env_info_keys
        if keys is None:
            self._env_info_keys = frozenset(info)
        elif info.keys() != keys:
            raise RuntimeError(f"GymEnv outputs inconsistent env_info keys: {sorted(info)} after "
                               f"{sorted(keys)}. Wrap the environment so that its info dict has "
                               "the same keys on every step.")
        timeout = step_type is _TIMEOUT
        info["TimeLimit.truncated"] = info["GymEnv.TimeLimitTerminated"] = timeout
        self._step_cnt = None if timeout or step_type is _TERMINAL else cnt
        return EnvStep(self._spec, action, float(reward), observation, info, step_type)

    def render(self, mode: str) -> Any:
        """Render the wrapped environment.

        gymnasium fixes the render mode when the environment is made, so ``mode`` must be
        that mode.

        Args:
            mode: The environment's ``render_mode``.

        Returns:
            What gymnasium's ``render()`` returns for that mode (e.g. an RGB array).

        Raises:
            ValueError: If ``mode`` is not the environment's render mode.
        """
        if mode != self._env.render_mode:
            raise ValueError(f"render mode {mode!r} is not the mode this environment was made "
                             f"with ({self._env.render_mode!r}); make it with "
                             f"gymnasium.make(id, render_mode={mode!r}).")
        return self._env.render()

    def visualize(self) -> None:
        """Show the environment on screen (needs ``render_mode='human'``).

        Raises:
            ValueError: If the environment was not made with ``render_mode='human'``.
        """
        self.render("human")

    def close(self) -> None:
        """Close the wrapped environment."""
        self._env.close()

    # ------------------------------------------------------------------ plumbing

    def __getattr__(self, name: str) -> Any:
        # Only public names, and never during unpickling (before _env exists).
        env = self.__dict__.get("_env")
        if name.startswith("_") or env is None:
            raise AttributeError(name)
        return getattr(env, name)

    def __getstate__(self) -> dict[str, Any]:
        _warn_if_state_is_lost(self._env)
        state = self.__dict__.copy()
        state["_env"] = cloudpickle.dumps(self._env)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state["_env"] = cloudpickle.loads(state["_env"])
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return f"GymEnv({self._env!r}, max_episode_length={self._max_episode_length})"


_warned_lossy: set[type] = set()


def _warn_if_state_is_lost(env: gym.Env) -> None:
    """Warn once per class: EzPickle environments lose physics and RNG state when pickled."""
    unwrapped = env.unwrapped
    cls = type(unwrapped)
    if cls in _warned_lossy or not isinstance(unwrapped, gym.utils.EzPickle):
        return
    _warned_lossy.add(cls)
    warnings.warn(f"{cls.__name__} is pickled through gymnasium's EzPickle, which rebuilds it from "
                  "its constructor arguments: its physics and random state are not saved, so a "
                  "run resumed from this snapshot continues correctly but not bit-identically "
                  "(see docs/resume.md).", UserWarning, stacklevel=3)
