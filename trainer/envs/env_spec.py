"""EnvSpec: the observation and action spaces of an environment and its time limit."""

from __future__ import annotations

from dataclasses import dataclass

from gymnasium import spaces


@dataclass(frozen=True)
class EnvSpec:
    """Describes what an environment takes and returns (garage's ``garage.EnvSpec``).

    Equal by value (two specs with equal spaces and time limits are equal) and picklable.

    Args:
        observation_space: The space of the observations.
        action_space: The space of the actions.
        max_episode_length: The time limit: the step with this number is a ``TIMEOUT`` and
            padded arrays have this length. ``None`` (default) means no limit.
    """

    observation_space: spaces.Space
    action_space: spaces.Space
    max_episode_length: int | None = None

    def __hash__(self) -> int:
        # gymnasium spaces define __eq__ but no __hash__; equal spaces have equal reprs.
        return hash((repr(self.observation_space), repr(self.action_space),
                     self.max_episode_length))

    @property
    def input_space(self) -> spaces.Space:
        """The action space (garage's ``InOutSpec`` name: the input of the environment)."""
        return self.action_space

    @property
    def output_space(self) -> spaces.Space:
        """The observation space (the output of the environment)."""
        return self.observation_space
