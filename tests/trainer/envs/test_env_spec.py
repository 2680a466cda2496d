"""EnvSpec: value equality, hashing, pickling (garage's test_env_spec_pickleable)."""

from __future__ import annotations

import dataclasses
import pickle

import cloudpickle
import gymnasium as gym
import numpy as np
import pytest

from trainer.envs import EnvSpec


def _spec(max_len: int | None = 100) -> EnvSpec:
    return EnvSpec(gym.spaces.Box(-1.0, 1.0, (3,), np.float32), gym.spaces.Discrete(4),
                   max_episode_length=max_len)


def test_equality_is_by_value() -> None:
    assert _spec() == _spec()
    assert hash(_spec()) == hash(_spec())
    assert _spec() != _spec(200)
    assert _spec() != EnvSpec(gym.spaces.Box(-2.0, 1.0, (3,), np.float32),
                              gym.spaces.Discrete(4), 100)


@pytest.mark.parametrize("dumps, loads", [(pickle.dumps, pickle.loads),
                                          (cloudpickle.dumps, cloudpickle.loads)])
def test_env_spec_pickleable(dumps, loads) -> None:
    spec = _spec()
    copy = loads(dumps(spec))
    assert copy == spec and copy is not spec
    assert copy.max_episode_length == 100


def test_frozen_and_in_out_names() -> None:
    spec = _spec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.max_episode_length = 3  # type: ignore[misc]
    assert spec.input_space is spec.action_space
    assert spec.output_space is spec.observation_space
    assert EnvSpec(spec.observation_space, spec.action_space).max_episode_length is None
