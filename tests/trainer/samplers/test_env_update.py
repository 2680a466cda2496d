"""Environment updates and garage's update rules."""

from __future__ import annotations

import pytest

from tests.trainer.samplers.helpers import PointGoalEnv
from trainer.envs import GymEnv
from trainer.samplers.env_update import (
    ExistingEnvUpdate,
    NewEnvUpdate,
    SetTaskUpdate,
    apply_env_update,
)


def test_apply_env_update_rules() -> None:
    old = GymEnv(PointGoalEnv())
    new = GymEnv(PointGoalEnv())
    assert apply_env_update(old, None) is old
    assert apply_env_update(old, new) is new
    assert apply_env_update(None, NewEnvUpdate(lambda: new)) is new
    with pytest.raises(TypeError, match="Unknown environment update type."):
        apply_env_update(old, "CartPole-v1")


def test_set_task_update_keeps_the_env_and_sets_its_task() -> None:
    env = GymEnv(PointGoalEnv(), max_episode_length=5)
    same = SetTaskUpdate(GymEnv, (3.0, 4.0))(env)
    assert same is env
    env.reset()
    assert env.step([0.0, 0.0]).env_info["goal"].tolist() == [3.0, 4.0]
    built = SetTaskUpdate(PointGoalEnv, (5.0, 6.0))(None)
    assert isinstance(built, PointGoalEnv)


def test_existing_env_update_copies() -> None:
    env = GymEnv(PointGoalEnv())
    got = ExistingEnvUpdate(env)(None)
    assert isinstance(got, GymEnv) and got is not env
