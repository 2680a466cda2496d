from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from tests.trainer.policies.conftest import env_spec, graph_dist_info, observations
from trainer.envs import EnvSpec
from trainer.errors import ConfigError, NoDefaultSessionError
from trainer.policies import DiagonalGaussian, GaussianMLPPolicy


def test_actions_match_the_box(sess):
    spec = env_spec("Pendulum-v1")
    policy = GaussianMLPPolicy(spec)
    obs = observations("Pendulum-v1", 20)

    actions, infos = policy.get_actions(obs)

    assert actions.shape == (20, 1) and actions.dtype == spec.action_space.dtype
    assert infos["mean"].shape == (20, 1) and infos["log_std"].shape == (20, 1)
    low, high = spec.action_space.low, spec.action_space.high
    assert all(spec.action_space.contains(np.clip(a, low, high)) for a in actions)
    action, info = policy.get_action(obs[0])
    assert action.shape == (1,) and set(info) == {"mean", "log_std"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"std_parameterization": "softplus", "init_std": 0.5},
        {"adaptive_std": True, "std_hidden_sizes": (8,)},
        {"std_share_network": True},
        {"min_std": 0.5, "max_std": 0.8, "init_std": 2.0},
        {"learn_std": False, "layer_normalization": True, "hidden_nonlinearity": tf.nn.relu},
    ],
)
def test_numpy_mean_and_std_equal_the_graph(sess, kwargs):
    policy = GaussianMLPPolicy(env_spec("Pendulum-v1"), **kwargs)
    policy.set_param_values(
        np.random.default_rng(3).normal(0, 0.5, policy.get_param_values().size).astype(np.float32)
    )
    obs = observations("Pendulum-v1", 16)

    _, infos = policy.get_actions(obs)
    graph = graph_dist_info(sess, policy, obs)

    np.testing.assert_allclose(infos["mean"], graph["mean"], atol=1e-5)
    np.testing.assert_allclose(infos["log_std"], graph["log_std"], atol=1e-5)


def test_std_bounds_and_initial_value(sess):
    spec = env_spec("Pendulum-v1")
    obs = observations("Pendulum-v1", 4)
    clipped = GaussianMLPPolicy(spec, init_std=2.0, max_std=0.8, name="clipped")
    fresh = GaussianMLPPolicy(spec, init_std=0.3, std_parameterization="softplus", name="fresh")

    np.testing.assert_allclose(np.exp(clipped.get_actions(obs)[1]["log_std"]), 0.8, rtol=1e-5)
    np.testing.assert_allclose(np.exp(fresh.get_actions(obs)[1]["log_std"]), 0.3, rtol=1e-5)


def test_sample_statistics_follow_mean_and_std(sess):
    policy = GaussianMLPPolicy(env_spec("MountainCarContinuous-v0"), init_std=0.4)
    obs = np.repeat(observations("MountainCarContinuous-v0", 1), 20000, axis=0)

    actions, infos = policy.get_actions(obs)

    assert np.isclose(actions.mean(), infos["mean"][0, 0], atol=0.02)
    assert np.isclose(actions.std(), 0.4, rtol=0.03)


def test_fixed_std_is_not_trainable_but_is_kept(sess):
    policy = GaussianMLPPolicy(
        env_spec("Pendulum-v1"), learn_std=False, init_std=0.7, hidden_sizes=(4,)
    )

    trainable = policy.get_trainable_vars()

    assert len(policy.get_global_vars()) == len(trainable) + 1
    assert policy.get_param_values().size == 3 * 4 + 4 + 4 + 1
    policy.set_param_values(np.zeros(policy.get_param_values().size, np.float32))
    _, infos = policy.get_actions(observations("Pendulum-v1", 2))
    np.testing.assert_allclose(np.exp(infos["log_std"]), 0.7, rtol=1e-6)


def test_multi_dimensional_actions(sess):
    spec = EnvSpec(
        gym.spaces.Box(-1.0, 1.0, (5,), np.float32), gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    )
    policy = GaussianMLPPolicy(spec, std_share_network=True)
    obs = np.random.default_rng(0).uniform(-1, 1, (6, 5)).astype(np.float32)

    actions, infos = policy.get_actions(obs)
    graph = graph_dist_info(sess, policy, obs)

    assert actions.shape == (6, 3)
    np.testing.assert_allclose(infos["mean"], graph["mean"], atol=1e-5)
    np.testing.assert_allclose(infos["log_std"], graph["log_std"], atol=1e-5)


def test_distribution_from_infos_gives_ratio_one(sess):
    policy = GaussianMLPPolicy(env_spec("Pendulum-v1"))
    obs = observations("Pendulum-v1", 10)
    actions, infos = policy.get_actions(obs)
    obs_ph = tf.compat.v1.placeholder(tf.float32, (None, 3))
    act_ph = tf.compat.v1.placeholder(tf.float32, (None, 1))
    info_ph = {
        k: tf.compat.v1.placeholder(tf.float32, (None, *shape))
        for k, shape in policy.dist_info_specs.items()
    }

    new = policy.build(obs_ph)
    old = policy.distribution_from_infos(info_ph)
    ratio = sess.run(
        new.likelihood_ratio(act_ph, old),
        {obs_ph: obs, act_ph: actions, **{info_ph[k]: v for k, v in infos.items()}},
    )

    assert isinstance(old, DiagonalGaussian)
    np.testing.assert_allclose(ratio, 1.0, atol=1e-5)


def test_clone_keeps_hyperparameters_and_values(sess):
    policy = GaussianMLPPolicy(
        env_spec("Pendulum-v1"),
        hidden_sizes=(6,),
        adaptive_std=True,
        std_parameterization="softplus",
        min_std=0.1,
    )
    policy.set_param_values(
        np.random.default_rng(4).normal(size=policy.get_param_values().size).astype(np.float32)
    )
    obs = observations("Pendulum-v1", 5)

    clone = policy.clone("old_policy")

    np.testing.assert_array_equal(clone.get_param_values(), policy.get_param_values())
    np.testing.assert_allclose(
        clone.get_actions(obs)[1]["log_std"], policy.get_actions(obs)[1]["log_std"]
    )
    assert {v.name for v in clone.get_global_vars()}.isdisjoint(
        v.name for v in policy.get_global_vars()
    )


def test_discrete_action_space_is_refused(sess):
    with pytest.raises(ConfigError, match="Box.*CategoricalMLPPolicy"):
        GaussianMLPPolicy(env_spec("CartPole-v1"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"adaptive_std": True, "std_share_network": True}, "conflict"),
        ({"learn_std": False, "adaptive_std": True}, "learn_std=False"),
        ({"std_parameterization": "square"}, "std_parameterization='square'"),
        ({"init_std": 0.0}, "init_std=0.0"),
        ({"min_std": 2.0, "max_std": 1.0}, "min_std=2.0"),
        ({"std_share_network": True, "output_nonlinearity": tf.nn.tanh}, "output_nonlinearity"),
    ],
)
def test_invalid_std_options_are_refused(sess, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        GaussianMLPPolicy(env_spec("Pendulum-v1"), **kwargs)


def test_building_outside_a_session_is_a_clear_error():
    with pytest.raises(NoDefaultSessionError, match="GaussianMLPPolicy.*TFTrainer"):
        GaussianMLPPolicy(env_spec("Pendulum-v1"))
