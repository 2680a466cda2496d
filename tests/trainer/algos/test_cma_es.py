from __future__ import annotations

import cloudpickle
import numpy as np
import pytest
import tensorflow as tf

from tests.trainer.algos.conftest import EVALUATION_KEYS, progress_rows
from trainer import GymEnv
from trainer.algos import CMAES
from trainer.errors import ConfigError
from trainer.policies import CategoricalMLPPolicy
from trainer.samplers import LocalSampler


def _cmaes(**kwargs):
    env = GymEnv("CartPole-v1")
    policy = CategoricalMLPPolicy(env.spec, hidden_sizes=(4,))
    sampler = LocalSampler(agents=policy, envs=env, max_episode_length=500)
    return env, policy, CMAES(env.spec, policy, sampler, **kwargs)


def test_two_epochs_set_the_policy_to_the_best_candidate(tf_trainer):
    env, policy, algo = _cmaes(n_samples=4, sigma0=0.5)
    initial = policy.get_param_values()
    tf_trainer.setup(algo, env)
    tf_trainer.train(n_epochs=2, batch_size=100)
    rows = progress_rows(tf_trainer)
    assert len(rows) == 2
    assert EVALUATION_KEYS | {"CMAES/Sigma", "CMAES/BestCandidateReturn"} <= set(rows[0])
    assert algo._es.countiter == 2
    final = policy.get_param_values()
    assert not np.allclose(final, initial)
    np.testing.assert_allclose(final, algo._es.result.xbest.astype(np.float32))


def test_pickled_strategy_continues_identically_in_a_fresh_graph(tf_trainer):
    _, policy, algo = _cmaes(n_samples=4)
    candidates = algo._propose(0)
    algo._update(candidates, np.arange(4.0))
    payload = cloudpickle.dumps(algo)
    expected = algo._propose(1)
    with tf.compat.v1.Session(graph=tf.Graph()):
        restored = cloudpickle.loads(payload)
        np.testing.assert_array_equal(restored._propose(1), expected)
        np.testing.assert_array_equal(restored.policy.get_param_values(),
                                      policy.get_param_values())


def test_does_not_touch_numpys_global_generator(tf_trainer):
    state = np.random.get_state()[1].copy()
    _, _, algo = _cmaes(n_samples=4)
    algo._propose(0)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_samples": 0}, "n_samples=0"),
    ({"n_samples": 4, "sigma0": 0.0}, "sigma0=0.0"),
    ({"n_samples": 4, "discount": 1.5}, "discount=1.5"),
])
def test_invalid_arguments_raise_config_error(tf_trainer, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        _cmaes(**kwargs)
