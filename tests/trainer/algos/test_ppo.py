from __future__ import annotations

import cloudpickle
import numpy as np
import pytest
import tensorflow as tf

from tests.trainer.algos.conftest import (
    EVALUATION_KEYS,
    cartpole_parts,
    pendulum_parts,
    policy_keys,
    progress_rows,
)
from trainer.algos import PPO
from trainer.optimizers import FirstOrderOptimizer


def _ppo(parts, **kwargs):
    env, policy, baseline, sampler = parts
    args = {
        "lr_clip_range": 0.2,
        "optimizer_args": {"batch_size": 64, "max_optimization_epochs": 4},
    }
    args.update(kwargs)
    return env, policy, PPO(env.spec, policy, baseline, sampler, **args)


def test_two_epochs_on_cartpole_with_vec_worker(tf_trainer):
    env, policy, algo = _ppo(cartpole_parts(vec=True))
    initial = policy.get_param_values()
    tf_trainer.setup(algo, env)
    tf_trainer.train(n_epochs=2, batch_size=256)
    rows = progress_rows(tf_trainer)
    assert EVALUATION_KEYS | policy_keys(policy.name) <= set(rows[1])
    assert int(rows[1]["TotalEnvSteps"]) >= 512
    assert not np.allclose(policy.get_param_values(), initial)
    assert float(rows[0][f"{policy.name}/KL"]) > 0


def test_two_epochs_on_pendulum_with_max_entropy(tf_trainer):
    env, policy, algo = _ppo(
        pendulum_parts(),
        center_adv=False,
        entropy_method="max",
        policy_ent_coeff=0.02,
        stop_entropy_gradient=True,
    )
    initial = policy.get_param_values()
    tf_trainer.setup(algo, env)
    tf_trainer.train(n_epochs=2, batch_size=400)
    rows = progress_rows(tf_trainer)
    assert EVALUATION_KEYS | policy_keys(policy.name) <= set(rows[1])
    assert not np.allclose(policy.get_param_values(), initial)


def test_default_optimizer_is_garages(tf_trainer):
    env, policy, baseline, sampler = cartpole_parts()
    algo = PPO(env.spec, policy, baseline, sampler)
    assert isinstance(algo._optimizer, FirstOrderOptimizer)
    assert algo._optimizer._batch_size == 32
    assert algo._optimizer._max_optimization_epochs == 10


def test_algorithm_pickle_restores_adam_moments_in_a_fresh_graph(tf_trainer):
    env, policy, algo = _ppo(cartpole_parts())
    tf_trainer.setup(algo, env)
    tf_trainer.train(n_epochs=1, batch_size=200)
    moments = algo._optimizer.get_state()
    params = policy.get_param_values()
    payload = cloudpickle.dumps(algo)
    with tf.compat.v1.Session(graph=tf.Graph()):
        restored = cloudpickle.loads(payload)
        restored_moments = restored._optimizer.get_state()
        assert len(restored_moments) == len(moments) > 2
        for a, b in zip(moments, restored_moments):
            np.testing.assert_array_equal(a, b)
        assert np.abs(restored_moments[0]).sum() > 0  # not fresh zeros
        np.testing.assert_array_equal(restored.policy.get_param_values(), params)
        np.testing.assert_array_equal(
            restored._baseline.get_param_values(), algo._baseline.get_param_values()
        )


@pytest.mark.parametrize("entropy_method", ["regularized", "max"])
def test_entropy_options_change_the_update(tf_trainer, entropy_method):
    """Same data, same start: an entropy term must give a different step than none."""
    from trainer import set_seed

    results = []
    for coeff, method in ((0.0, "no_entropy"), (0.5, entropy_method)):
        set_seed(5)
        with tf.compat.v1.Session(graph=tf.Graph()):
            # Both runs share center_adv and stop_entropy_gradient: only the entropy differs.
            env, policy, algo = _ppo(
                cartpole_parts(),
                policy_ent_coeff=coeff,
                entropy_method=method,
                center_adv=entropy_method != "max",
                stop_entropy_gradient=entropy_method == "max",
            )
            episodes = algo._sampler.obtain_samples(0, 200, policy.get_param_values())
            algo.optimize(None, 0, episodes)
            results.append(policy.get_param_values())
    assert not np.allclose(results[0], results[1])


def test_pickled_algorithm_holds_numpy_not_tf_handles(tf_trainer):
    import pickle

    env, policy, algo = _ppo(cartpole_parts())
    tf_trainer.setup(algo, env)
    tf_trainer.train(n_epochs=1, batch_size=100)
    state = algo.__getstate__()
    assert state["_graph"] is None
    blob = pickle.dumps(algo)  # the standard pickler refuses sessions, graphs and tensors
    for marker in (b"tensorflow.python.client", b"tensorflow.python.framework.ops"):
        assert marker not in blob
    assert all(isinstance(a, np.ndarray) for a in algo._optimizer.__getstate__()["_saved_state"])
