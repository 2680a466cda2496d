from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from tests.trainer.policies.conftest import env_spec, graph_dist_info, observations
from trainer import set_seed
from trainer.envs import EnvSpec
from trainer.errors import ConfigError, NoDefaultSessionError
from trainer.policies import Categorical, CategoricalMLPPolicy, register_nonlinearity


def test_actions_are_valid_for_the_space(sess):
    spec = env_spec("CartPole-v1")
    policy = CategoricalMLPPolicy(spec, hidden_sizes=(8, 8))
    obs = observations("CartPole-v1", 16)

    actions, infos = policy.get_actions(obs)

    assert actions.shape == (16,)
    assert all(spec.action_space.contains(a) for a in actions)
    assert infos["prob"].shape == (16, 2)
    np.testing.assert_allclose(infos["prob"].sum(axis=1), 1.0, rtol=1e-6)
    action, info = policy.get_action(obs[0])
    assert spec.action_space.contains(action)
    assert info["prob"].shape == (2,)


def test_actions_respect_a_discrete_start(sess):
    spec = EnvSpec(gym.spaces.Box(-1.0, 1.0, (3,), np.float32), gym.spaces.Discrete(3, start=-1))
    policy = CategoricalMLPPolicy(spec, hidden_sizes=(4,))
    obs = np.random.default_rng(0).uniform(-1, 1, (300, 3)).astype(np.float32)

    actions, _ = policy.get_actions(obs)

    assert set(actions.tolist()) == {-1, 0, 1}


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"hidden_nonlinearity": tf.nn.relu, "layer_normalization": True},
        {"hidden_nonlinearity": "softplus", "output_nonlinearity": tf.nn.tanh},
        {"hidden_sizes": ()},
    ],
)
def test_numpy_probabilities_equal_the_graph(sess, kwargs):
    policy = CategoricalMLPPolicy(env_spec("CartPole-v1"), **kwargs)
    # Non-zero biases, so that the numpy pass's bias folding is exercised.
    policy.set_param_values(
        np.random.default_rng(1).normal(0, 0.5, policy.get_param_values().size).astype(np.float32)
    )
    obs = observations("CartPole-v1", 32)

    _, infos = policy.get_actions(obs)

    np.testing.assert_allclose(infos["prob"], graph_dist_info(sess, policy, obs)["prob"], atol=1e-5)


def test_padded_observations_give_padded_distributions(sess):
    policy = CategoricalMLPPolicy(env_spec("CartPole-v1"))
    obs = observations("CartPole-v1", 12).astype(np.float32)
    obs_ph = tf.compat.v1.placeholder(tf.float32, (None, None, 4))

    dist = policy.build(obs_ph, name="padded")
    prob = sess.run(dist.dist_info["prob"], {obs_ph: obs.reshape(3, 4, 4)})

    assert prob.shape == (3, 4, 2)
    np.testing.assert_allclose(prob.reshape(12, 2), policy.get_actions(obs)[1]["prob"], atol=1e-5)


def test_discrete_observations_are_one_hot(sess):
    spec = env_spec("FrozenLake-v1")
    policy = CategoricalMLPPolicy(spec, hidden_sizes=(8,))
    states = np.arange(16)

    actions, infos = policy.get_actions(states)

    assert policy.obs_dim == 16
    assert all(spec.action_space.contains(a) for a in actions)
    np.testing.assert_allclose(
        infos["prob"], graph_dist_info(sess, policy, np.eye(16))["prob"], atol=1e-5
    )
    # Different states must give different distributions, so the one-hot reached the network.
    assert len({tuple(np.round(p, 6)) for p in infos["prob"]}) == 16


def test_sampled_frequencies_match_the_probabilities(sess):
    policy = CategoricalMLPPolicy(
        EnvSpec(gym.spaces.Box(-1.0, 1.0, (2,), np.float32), gym.spaces.Discrete(4)),
        hidden_sizes=(),
        name="freq",
    )
    values = policy.get_param_values()
    values[:] = 0.0
    values[-4:] = np.log([0.1, 0.2, 0.3, 0.4])  # output bias = log-probabilities
    policy.set_param_values(values)
    obs = np.zeros((40000, 2), dtype=np.float32)

    actions, infos = policy.get_actions(obs)

    np.testing.assert_allclose(infos["prob"][0], [0.1, 0.2, 0.3, 0.4], rtol=1e-5)
    freq = np.bincount(actions, minlength=4) / len(actions)
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.3, 0.4], atol=0.01)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("bias", [(300.0, 100.0), (-100.0, -300.0)])
def test_huge_logits_fall_back_to_the_stable_softmax(sess, bias):
    policy = CategoricalMLPPolicy(env_spec("CartPole-v1"), hidden_sizes=(4,))
    values = policy.get_param_values()
    values[-2:] = bias  # exp(300) overflows float32, exp(-300) underflows
    policy.set_param_values(values)
    obs = observations("CartPole-v1", 8)

    actions, infos = policy.get_actions(obs)

    assert np.isfinite(infos["prob"]).all()
    np.testing.assert_allclose(infos["prob"], graph_dist_info(sess, policy, obs)["prob"], atol=1e-5)
    assert (actions == 0).all()


def test_param_values_round_trip_and_wrong_size(sess):
    policy = CategoricalMLPPolicy(env_spec("CartPole-v1"), hidden_sizes=(8, 8))
    n = 4 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2
    new = np.random.default_rng(2).normal(size=n).astype(np.float32)

    policy.set_param_values(new)

    np.testing.assert_array_equal(policy.get_param_values(), new)
    # The TF variables got the values too, not just the numpy copy.
    np.testing.assert_array_equal(
        np.concatenate([v.ravel() for v in sess.run(policy.get_trainable_vars())]), new
    )
    with pytest.raises(ConfigError, match=f"{n - 1} values.*{n} values"):
        policy.set_param_values(new[:-1])


def test_clone_has_equal_params_and_its_own_variables(sess):
    policy = CategoricalMLPPolicy(env_spec("CartPole-v1"), hidden_sizes=(8,))
    policy.set_param_values(np.full(policy.get_param_values().size, 0.25, np.float32))

    clone = policy.clone("old_policy")

    assert type(clone) is CategoricalMLPPolicy
    assert clone.name == "old_policy"
    assert clone.env_spec == policy.env_spec
    np.testing.assert_array_equal(clone.get_param_values(), policy.get_param_values())
    own = {v.name for v in policy.get_trainable_vars()}
    assert own.isdisjoint(v.name for v in clone.get_trainable_vars())
    clone.set_param_values(np.zeros(clone.get_param_values().size, np.float32))
    assert (policy.get_param_values() == 0.25).all()


def test_same_seed_gives_same_weights_and_actions():
    obs = observations("CartPole-v1", 8)
    runs = []
    for _ in range(2):
        set_seed(11)
        with tf.compat.v1.Session(graph=tf.Graph()):
            policy = CategoricalMLPPolicy(env_spec("CartPole-v1"))
            runs.append((policy.get_param_values(), policy.get_actions(obs)[0]))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_box_action_space_is_refused(sess):
    with pytest.raises(ConfigError, match="Discrete.*GaussianMLPPolicy"):
        CategoricalMLPPolicy(env_spec("Pendulum-v1"))


def test_bad_arguments_are_refused(sess):
    spec = env_spec("CartPole-v1")
    with pytest.raises(ConfigError, match="hidden_sizes"):
        CategoricalMLPPolicy(spec, hidden_sizes=(8, 0))
    with pytest.raises(ConfigError, match="hidden_nonlinearity.*register_nonlinearity"):
        CategoricalMLPPolicy(spec, hidden_nonlinearity=tf.nn.gelu)
    with pytest.raises(ConfigError, match="hidden_w_init"):
        CategoricalMLPPolicy(spec, hidden_w_init="bogus")
    with pytest.raises(ConfigError, match="name"):
        CategoricalMLPPolicy(spec, name="bad name!")


def test_building_outside_a_session_is_a_clear_error():
    with pytest.raises(NoDefaultSessionError, match="TFTrainer"):
        CategoricalMLPPolicy(env_spec("CartPole-v1"))


def test_build_checks_the_observation_shape(sess):
    policy = CategoricalMLPPolicy(env_spec("CartPole-v1"))
    with pytest.raises(ConfigError, match=r"\(N, 4\)"):
        policy.build(tf.compat.v1.placeholder(tf.float32, (None, 5)))


def test_distribution_from_infos_matches_the_policy(sess):
    policy = CategoricalMLPPolicy(env_spec("CartPole-v1"))
    obs = observations("CartPole-v1", 10)
    actions, infos = policy.get_actions(obs)
    obs_ph = tf.compat.v1.placeholder(tf.float32, (None, 4))
    act_ph = tf.compat.v1.placeholder(tf.int64, (None,))
    info_ph = {
        k: tf.compat.v1.placeholder(tf.float32, (None, *shape))
        for k, shape in policy.dist_info_specs.items()
    }

    new = policy.build(obs_ph)
    old = policy.distribution_from_infos(info_ph)
    feed = {obs_ph: obs, act_ph: actions, **{info_ph[k]: v for k, v in infos.items()}}
    ratio, kl, logp = sess.run(
        [new.likelihood_ratio(act_ph, old), old.kl_divergence(new), new.log_prob(act_ph)], feed
    )

    assert policy.distribution_cls is Categorical and isinstance(old, Categorical)
    np.testing.assert_allclose(ratio, 1.0, atol=1e-5)
    np.testing.assert_allclose(kl, 0.0, atol=1e-6)
    np.testing.assert_allclose(logp, np.log(infos["prob"][np.arange(10), actions]), atol=1e-5)


def test_registered_nonlinearity_is_used_on_both_paths(sess):
    register_nonlinearity("leaky_relu_test", tf.nn.leaky_relu,
                          lambda x: np.where(x > 0, x, np.float32(0.2) * x))
    policy = CategoricalMLPPolicy(env_spec("CartPole-v1"), hidden_nonlinearity=tf.nn.leaky_relu)
    plain = CategoricalMLPPolicy(env_spec("CartPole-v1"), hidden_nonlinearity=None,
                                 name="plain")
    plain.set_param_values(policy.get_param_values())
    obs = observations("CartPole-v1", 16) * 5

    probs = policy.get_actions(obs)[1]["prob"]

    np.testing.assert_allclose(probs, graph_dist_info(sess, policy, obs)["prob"], atol=1e-5)
    assert not np.allclose(probs, plain.get_actions(obs)[1]["prob"], atol=1e-3)
