from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from trainer import GymEnv
from trainer.algos import NPO
from trainer.algos.npo import policy_objective
from trainer.baselines.linear_feature_baseline import LinearFeatureBaseline
from trainer.errors import ConfigError, NoDefaultSessionError
from trainer.optimizers import FirstOrderOptimizer, PenaltyLBFGSOptimizer
from trainer.policies import CategoricalMLPPolicy
from trainer.samplers import LocalSampler


def _parts():
    env = GymEnv("CartPole-v1")
    policy = CategoricalMLPPolicy(env.spec, hidden_sizes=(4,))
    sampler = LocalSampler(agents=policy, envs=env, max_episode_length=500)
    return env, policy, LinearFeatureBaseline(env.spec), sampler


def _npo(**kwargs):
    env, policy, baseline, sampler = _parts()
    return NPO(env.spec, policy, baseline, sampler, **kwargs)


class TestGarageValidation:
    """garage's tests/garage/tf/algos/test_npo.py error cases (spec item 61)."""

    def test_unknown_pg_loss(self, tf_trainer):
        with pytest.raises(ValueError, match="Invalid pg_loss") as err:
            _npo(pg_loss="random")
        assert "'random'" in str(err.value) and "surrogate_clip" in str(err.value)

    def test_invalid_entropy_method(self, tf_trainer):
        with pytest.raises(ValueError, match="Invalid entropy_method"):
            _npo(entropy_method=None)

    def test_max_entropy_with_center_adv(self, tf_trainer):
        with pytest.raises(ValueError, match="center_adv should be False"):
            _npo(
                entropy_method="max",
                center_adv=True,
                stop_entropy_gradient=True,
                policy_ent_coeff=0.1,
            )

    def test_max_entropy_without_stop_entropy_gradient(self, tf_trainer):
        with pytest.raises(ValueError, match="stop_gradient should be True"):
            _npo(
                entropy_method="max",
                center_adv=False,
                stop_entropy_gradient=False,
                policy_ent_coeff=0.1,
            )

    def test_no_entropy_with_a_coefficient(self, tf_trainer):
        with pytest.raises(ValueError, match="policy_ent_coeff should be zero") as err:
            _npo(entropy_method="no_entropy", policy_ent_coeff=0.02)
        assert "0.02" in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"discount": 1.5}, "discount=1.5"),
        ({"gae_lambda": -0.1}, "gae_lambda=-0.1"),
        ({"lr_clip_range": 0.0}, "lr_clip_range=0.0"),
        ({"max_kl_step": -1.0}, "max_kl_step=-1.0"),
        ({"fixed_horizon": True}, "fixed_horizon=True"),
        ({"optimizer_args": [1]}, r"optimizer_args=\[1\]"),
    ],
)
def test_invalid_options_raise_config_error(tf_trainer, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        _npo(**kwargs)


def test_default_optimizer_is_penalty_lbfgs_and_args_are_merged(tf_trainer):
    assert isinstance(_npo()._optimizer, PenaltyLBFGSOptimizer)
    algo = _npo(optimizer=FirstOrderOptimizer, optimizer_args={"batch_size": 7})
    assert isinstance(algo._optimizer, FirstOrderOptimizer)
    assert algo._optimizer._batch_size == 7


def test_construction_outside_a_session_raises():
    graph = tf.Graph()
    with graph.as_default():
        with tf.compat.v1.Session(graph=graph):
            env, policy, baseline, sampler = _parts()
        with pytest.raises(NoDefaultSessionError, match="TFTrainer"):
            NPO(env.spec, policy, baseline, sampler)


def test_policy_objectives_hand_values():
    logli = tf.constant([np.log(0.5), np.log(0.9)], tf.float32)
    old = tf.constant([np.log(0.25), np.log(0.9)], tf.float32)
    adv = tf.constant([2.0, -1.0], tf.float32)
    vanilla = policy_objective("vanilla", logli, old, adv, 0.2).numpy()
    np.testing.assert_allclose(vanilla, [np.log(0.5) * 2, -np.log(0.9)], rtol=1e-6)
    # ratios are [2, 1]
    np.testing.assert_allclose(
        policy_objective("surrogate", logli, old, adv, 0.2).numpy(), [4.0, -1.0], rtol=1e-6
    )
    # clipped: min(2*2, 1.2*2) = 2.4; min(1*-1, 1*-1) = -1
    np.testing.assert_allclose(
        policy_objective("surrogate_clip", logli, old, adv, 0.2).numpy(), [2.4, -1.0], rtol=1e-6
    )
    # With a negative advantage the clip does not cap the penalty: min(2*-2, 1.2*-2) = -4.
    np.testing.assert_allclose(
        policy_objective("surrogate_clip", logli, old, -adv, 0.2).numpy(), [-4.0, 1.0], rtol=1e-6
    )
