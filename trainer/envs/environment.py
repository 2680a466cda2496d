"""The Environment interface and the EnvStep record it returns (garage's ``_environment.py``)."""

from __future__ import annotations

import abc
import warnings
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces

from trainer.envs.env_spec import EnvSpec
from trainer.episode_batch import StepType


class EnvStep(NamedTuple):
    """What one call of :meth:`Environment.step` returns (immutable).

    A named tuple rather than garage's frozen dataclass: it is built once per environment step,
    and a tuple is built about 4x faster.

    Attributes:
        env_spec: Spec of the environment that produced the step.
        action: The action taken, ``(A*)``.
        reward: The reward for taking it.
        observation: The observation after the action, ``(O*)``.
        env_info: Information from the environment (values of consistent keys and shapes).
        step_type: Where the step sits in its episode.
    """

    env_spec: EnvSpec
    action: Any
    reward: float
    observation: Any
    env_info: dict[str, Any]
    step_type: StepType

    @property
    def first(self) -> bool:
        """Whether this is the first step of its episode."""
        return self.step_type is StepType.FIRST

    @property
    def mid(self) -> bool:
        """Whether this step is neither the first nor the last of its episode."""
        return self.step_type is StepType.MID

    @property
    def terminal(self) -> bool:
        """Whether the environment reached a terminal state."""
        return self.step_type is StepType.TERMINAL

    @property
    def timeout(self) -> bool:
        """Whether a time limit cut the episode at this step."""
        return self.step_type is StepType.TIMEOUT

    @property
    def last(self) -> bool:
        """Whether this is the last step of its episode (``TERMINAL`` or ``TIMEOUT``)."""
        return self.step_type is StepType.TERMINAL or self.step_type is StepType.TIMEOUT


class Environment(abc.ABC):
    """An environment the samplers can step: garage's ``Environment`` interface.

    Subclasses implement :attr:`spec`, :attr:`render_modes`, :meth:`reset`, :meth:`step`,
    :meth:`render`, :meth:`visualize` and :meth:`close`; :meth:`seed` is optional. After an
    episode's last step (``TERMINAL`` or ``TIMEOUT``), ``reset()`` must be called again.
    """

    @property
    def observation_space(self) -> spaces.Space:
        """The observation space (from :attr:`spec`)."""
        return self.spec.observation_space

    @property
    def action_space(self) -> spaces.Space:
        """The action space (from :attr:`spec`)."""
        return self.spec.action_space

    @property
    @abc.abstractmethod
    def spec(self) -> EnvSpec:
        """The environment's spaces and time limit."""

    @property
    @abc.abstractmethod
    def render_modes(self) -> list[str]:
        """The modes :meth:`render` accepts."""

    @abc.abstractmethod
    def reset(self) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new episode.

        Returns:
            The first observation ``(O*)`` and the episode's ``episode_info`` dict (its values
            end up in ``EpisodeBatch.episode_infos``; keep the keys the same every episode).
        """

    @abc.abstractmethod
    def step(self, action: Any) -> EnvStep:
        """Take one action.

        Args:
            action: An element of :attr:`action_space`.

        Returns:
            The step's record.

        Raises:
            RuntimeError: If ``reset()`` was not called before, or after the last step.
        """

    @abc.abstractmethod
    def render(self, mode: str) -> Any:
        """Render the environment in one of :attr:`render_modes`."""

    @abc.abstractmethod
    def visualize(self) -> None:
        """Show the environment on screen while it steps."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the environment's resources."""

    def seed(self, seed: int | None) -> None:
        """Seed the environment's random generators; applied at the next :meth:`reset`.

        Samplers call this so that a fixed seed gives the same episodes. The default warns
        that the environment cannot be seeded; override it where seeding is possible.

        Args:
            seed: The seed, or ``None`` for fresh entropy.
        """
        warnings.warn(f"{type(self).__name__} does not implement seed(); its episodes are not "
                      "reproducible. Override Environment.seed() to make them so.",
                      RuntimeWarning, stacklevel=2)

    def __enter__(self) -> Environment:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
