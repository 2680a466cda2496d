"""EnvStep's step-type properties and the Environment interface."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from trainer.envs import Environment, EnvSpec, EnvStep
from trainer.episode_batch import StepType

SPEC = EnvSpec(gym.spaces.Box(-1.0, 1.0, (2,), np.float32), gym.spaces.Discrete(2), 10)


@pytest.mark.parametrize("step_type, flags", [
    (StepType.FIRST, {"first"}),
    (StepType.MID, {"mid"}),
    (StepType.TERMINAL, {"terminal", "last"}),
    (StepType.TIMEOUT, {"timeout", "last"}),
])
def test_env_step_properties(step_type: StepType, flags: set[str]) -> None:
    step = EnvStep(env_spec=SPEC, action=1, reward=0.5, observation=np.zeros(2),
                   env_info={}, step_type=step_type)
    for name in ("first", "mid", "terminal", "timeout", "last"):
        assert getattr(step, name) is (name in flags), name
    with pytest.raises(AttributeError):
        step.reward = 2.0  # type: ignore[misc]


class _Minimal(Environment):
    spec = SPEC
    render_modes: list[str] = []

    def reset(self):
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return EnvStep(SPEC, action, 0.0, np.zeros(2, np.float32), {}, StepType.TERMINAL)

    def render(self, mode):
        return None

    def visualize(self):
        return None

    def close(self):
        self.closed = True


def test_environment_interface() -> None:
    with pytest.raises(TypeError):
        Environment()  # type: ignore[abstract]
    env = _Minimal()
    assert env.observation_space is SPEC.observation_space
    assert env.action_space is SPEC.action_space
    with pytest.warns(RuntimeWarning, match="does not implement seed"):
        env.seed(3)
    with env:
        pass
    assert env.closed
