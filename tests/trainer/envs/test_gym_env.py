"""GymEnv over gymnasium 1.x: garage's test_gym_env.py items, time limits, seeding, pickling."""

from __future__ import annotations

import pickle

import cloudpickle
import gymnasium as gym
import numpy as np
import pytest

from trainer.envs import EnvSpec, GymEnv
from trainer.episode_batch import StepType
from trainer.errors import ConfigError


@pytest.mark.parametrize("dumps, loads", [(pickle.dumps, pickle.loads),
                                          (cloudpickle.dumps, cloudpickle.loads)])
def test_is_pickleable_and_keeps_max_episode_length(dumps, loads) -> None:
    with pytest.warns(UserWarning, match="overrides"):
        env = GymEnv("CartPole-v1", max_episode_length=50)
    copy = loads(dumps(env))
    assert copy.spec == env.spec
    assert copy.spec.max_episode_length == 50  # garage #2095 lost it
    assert isinstance(copy.spec, EnvSpec)


def test_pickled_mid_episode_continues_identically() -> None:
    env = GymEnv("CartPole-v1")
    env.seed(7)
    env.reset()
    for _ in range(5):
        env.step(1)
    copies = [pickle.loads(pickle.dumps(env)), cloudpickle.loads(cloudpickle.dumps(env))]
    actions = [0, 1, 1, 0, 0]
    expected = [env.step(a).observation for a in actions]
    first_obs_after_reset = env.reset()[0]
    for copy in copies:
        got = [copy.step(a).observation for a in actions]
        np.testing.assert_array_equal(np.array(got), np.array(expected))
        # the environment's generator survived too: the next reset draws the same state
        np.testing.assert_array_equal(copy.reset()[0], first_obs_after_reset)


def test_catch_no_reset() -> None:
    env = GymEnv("CartPole-v1")
    with pytest.raises(RuntimeError, match=r"reset\(\) must be called before step\(\)!"):
        env.step(1)


def test_step_after_last_step_needs_reset() -> None:
    env = GymEnv("CartPole-v1")
    env.reset()
    while not env.step(0).last:
        pass
    with pytest.raises(RuntimeError, match=r"reset\(\)"):
        env.step(0)


def test_time_limit_env() -> None:
    env = GymEnv("Pendulum-v1")
    assert env.spec.max_episode_length == 200
    env.reset()
    for i in range(200):
        step = env.step(env.action_space.sample())
        if i < 199:
            assert not step.last
            assert step.env_info == {"TimeLimit.truncated": False,
                                     "GymEnv.TimeLimitTerminated": False}
    assert step.step_type is StepType.TIMEOUT and step.timeout
    assert step.env_info["TimeLimit.truncated"] and step.env_info["GymEnv.TimeLimitTerminated"]


def test_done_resets_step_cnt() -> None:
    env = GymEnv("CartPole-v1", max_episode_length=500)
    env.reset()
    types = [env.step(0).step_type]
    while types[-1] is not StepType.TERMINAL:
        types.append(env.step(0).step_type)
    assert types[0] is StepType.FIRST and set(types[1:-1]) == {StepType.MID}
    env.reset()
    assert env.step(0).step_type is StepType.FIRST


def test_terminal_step_has_false_time_limit_flags() -> None:
    env = GymEnv("CartPole-v1")
    env.reset()
    step = env.step(0)
    while not step.last:
        step = env.step(0)
    assert step.terminal
    assert not step.env_info["TimeLimit.truncated"]
    assert isinstance(step.reward, float)


def test_explicit_max_episode_length_overrides_with_warning() -> None:
    with pytest.warns(UserWarning, match="max_episode_length=10 overrides the environment's "
                                         "max_episode_steps=500"):
        env = GymEnv("CartPole-v1", max_episode_length=10)
    env.seed(0)
    env.reset()
    steps = [env.step(i % 2) for i in range(10)]
    assert [s.last for s in steps] == [False] * 9 + [True]
    assert steps[-1].timeout
    assert env.gym_env.spec.max_episode_steps == 10  # gymnasium's own TimeLimit agrees


def test_gym_env_instance_uses_its_time_limit() -> None:
    env = GymEnv(gym.make("CartPole-v1", max_episode_steps=30))
    assert env.spec.max_episode_length == 30
    assert env.spec.action_space == gym.spaces.Discrete(2)


def test_longer_limit_than_the_gym_env_warns_about_its_own_time_limit() -> None:
    with pytest.warns(UserWarning, match="still ends episodes after 30 steps"):
        GymEnv(gym.make("CartPole-v1", max_episode_steps=30), max_episode_length=60)


def test_bad_env_argument() -> None:
    with pytest.raises(ValueError, match="GymEnv can take env as either a string, or an Gym "
                                         "environment, but got type <class 'int'>"):
        GymEnv(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("env_id", ["NoSuchEnv-v0", "CartPole-v9"])
def test_unknown_env_id_is_a_config_error_naming_it(env_id: str) -> None:
    with pytest.raises(ConfigError, match=f"unknown environment id '{env_id}'") as info:
        GymEnv(env_id)
    assert "pprint_registry" in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("bad", [0, -5, 2.5, "10", True])
def test_bad_max_episode_length(bad) -> None:
    with pytest.raises(ConfigError, match=f"max_episode_length={bad!r} is not valid"):
        GymEnv("CartPole-v1", max_episode_length=bad)


def test_seed_makes_resets_reproducible() -> None:
    def first_obs(seed: int) -> np.ndarray:
        env = GymEnv("CartPole-v1")
        env.seed(seed)
        return np.array([env.reset()[0], env.reset()[0]])

    np.testing.assert_array_equal(first_obs(3), first_obs(3))
    assert not np.array_equal(first_obs(3), first_obs(4))
    env = GymEnv("CartPole-v1")
    np.testing.assert_array_equal(env.reset(seed=3)[0], first_obs(3)[0])


def test_render_mode_must_match_and_attributes_are_forwarded() -> None:
    env = GymEnv("CartPole-v1")
    assert "rgb_array" in env.render_modes
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        env.render("rgb_array")
    with pytest.raises(ValueError, match="render_mode='human'"):
        env.visualize()
    assert type(env.unwrapped).__name__ == "CartPoleEnv"
    with pytest.raises(AttributeError):
        _ = env._not_there
    env.close()


class _ChangingInfoEnv(gym.Env):
    observation_space = gym.spaces.Discrete(3)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        self._t = 0
        return 0, {}

    def step(self, action):
        self._t += 1
        return 1, 0.0, False, False, ({"a": 1} if self._t == 1 else {"b": 2})


def test_inconsistent_env_info_keys() -> None:
    env = GymEnv(_ChangingInfoEnv())
    env.reset()
    env.step(0)
    with pytest.raises(RuntimeError, match="inconsistent env_info keys"):
        env.step(0)


def test_pickling_an_ezpickle_env_warns_that_resume_is_not_exact():
    import cloudpickle
    import gymnasium as gym

    from trainer.envs import gym_env as module

    class Lossy(gym.Env, gym.utils.EzPickle):
        observation_space = gym.spaces.Box(-1.0, 1.0, (1,))
        action_space = gym.spaces.Discrete(2)

        def __init__(self):
            gym.utils.EzPickle.__init__(self)

    module._warned_lossy.discard(Lossy)
    env = module.GymEnv(Lossy(), max_episode_length=5)
    with pytest.warns(UserWarning, match="not bit-identically"):
        cloudpickle.dumps(env)
