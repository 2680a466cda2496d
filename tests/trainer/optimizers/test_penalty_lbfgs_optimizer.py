from __future__ import annotations

import cloudpickle
import numpy as np
import pytest
import tensorflow as tf

from tests.trainer.optimizers.conftest import LinearModel
from trainer.errors import ConfigError
from trainer.optimizers import PenaltyLBFGSOptimizer


def _problem(optimizer: PenaltyLBFGSOptimizer, max_kl: float):
    """loss = -mean(x @ w) - b, constraint = 0.5 |theta - theta0|^2 with theta0 fed per row."""
    model = LinearModel(2)
    x_ph = tf.compat.v1.placeholder(tf.float32, (None, 2))
    theta0 = tf.compat.v1.placeholder(tf.float32, (None, 3))
    theta = tf.concat([tf.reshape(v, [-1]) for v in model.get_trainable_vars()], 0)
    loss = -tf.reduce_mean(model(x_ph))
    constraint = tf.reduce_mean(0.5 * tf.reduce_sum(tf.square(theta[None] - theta0), -1))
    optimizer.update_opt(loss, model, (constraint, max_kl), [x_ph, theta0], "distance")
    return model


def test_adapts_penalty_until_the_constraint_holds(session):
    # The penalised optimum is theta0 + c / penalty, so the constraint is |c|^2 / (2 p^2):
    # with |c|^2 = 3 and a limit of 0.01 it holds only for penalties above ~12.2.
    x = np.ones((32, 2), dtype=np.float32)
    opt = PenaltyLBFGSOptimizer(initial_penalty=1.0)
    model = _problem(opt, max_kl=0.01)
    theta0 = np.tile(model.get_param_values(), (32, 1))
    loss_before = opt.loss([x, theta0])
    opt.optimize([x, theta0])
    assert opt.penalty == 16.0  # 1 -> 2 -> 4 -> 8 -> 16: the first that satisfies it.
    assert opt.constraint_val([x, theta0]) < 0.01
    assert opt.loss([x, theta0]) < loss_before
    np.testing.assert_allclose(model.get_param_values(), np.ones(3) / 16.0, rtol=1e-3)


def test_decreases_penalty_while_the_constraint_holds(session):
    x = np.ones((32, 2), dtype=np.float32)
    opt = PenaltyLBFGSOptimizer(initial_penalty=100.0)
    model = _problem(opt, max_kl=0.01)
    theta0 = np.tile(model.get_param_values(), (32, 1))
    opt.optimize([x, theta0])
    # 100 -> 50 -> 25 -> 12.5 satisfy (|c|^2/2p^2 = 0.0096 at 12.5); 6.25 violates: keep 12.5.
    np.testing.assert_allclose(model.get_param_values(), np.ones(3) / 12.5, rtol=1e-3)
    assert opt.constraint_val([x, theta0]) < 0.01


def test_penalty_is_pickled(session):
    x = np.ones((8, 2), dtype=np.float32)
    opt = PenaltyLBFGSOptimizer()
    model = _problem(opt, 0.01)
    opt.optimize([x, np.tile(model.get_param_values(), (8, 1))])
    restored = cloudpickle.loads(cloudpickle.dumps(opt))
    assert restored.penalty == opt.penalty != 1.0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"max_opt_itr": 0}, "max_opt_itr=0"),
    ({"increase_penalty_factor": 0.5}, "increase_penalty_factor=0.5"),
    ({"decrease_penalty_factor": 2.0}, "decrease_penalty_factor=2.0"),
    ({"min_penalty": 0.0}, "min_penalty=0.0"),
])
def test_invalid_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        PenaltyLBFGSOptimizer(**kwargs)
