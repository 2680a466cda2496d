from __future__ import annotations

import cloudpickle
import numpy as np
import pytest
import tensorflow as tf

from tests.trainer.optimizers.conftest import LinearModel
from trainer.errors import ConfigError
from trainer.optimizers import ConjugateGradientOptimizer, conjugate_gradient


def test_conjugate_gradient_solves_spd_system():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(6, 6))
    a = m @ m.T + 6 * np.eye(6)
    b = rng.normal(size=6)
    x = conjugate_gradient(lambda v: a @ v, b, cg_iters=6)
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-6)


def test_conjugate_gradient_is_limited_by_cg_iters():
    a = np.diag([1.0, 10.0, 100.0])
    b = np.ones(3)
    one = conjugate_gradient(lambda v: a @ v, b, cg_iters=1)
    # One iteration is a steepest-descent step: x = (b.b / b.Ab) b.
    np.testing.assert_allclose(one, b * 3.0 / 111.0)


def _trust_region_problem(optimizer: ConjugateGradientOptimizer, max_kl: float, dim: int = 3):
    """loss = -mean(x @ w) (linear), constraint = 0.5 |theta - theta0|^2 (Hessian = I)."""
    model = LinearModel(dim)
    x_ph = tf.compat.v1.placeholder(tf.float32, (None, dim))
    theta0 = tf.compat.v1.placeholder(tf.float32, (dim + 1,))
    theta = tf.concat([tf.reshape(v, [-1]) for v in model.get_trainable_vars()], 0)
    loss = -tf.reduce_mean(model(x_ph))
    constraint = 0.5 * tf.reduce_sum(tf.square(theta - theta0))
    optimizer.update_opt(loss, model, (constraint, max_kl), [x_ph], extra_inputs=[theta0],
                         constraint_name="distance")
    return model


def test_step_lands_on_the_constraint_boundary_along_the_gradient(session):
    x = np.random.default_rng(1).normal(loc=1.0, size=(64, 3)).astype(np.float32)
    opt = ConjugateGradientOptimizer(cg_iters=10, reg_coeff=0.0)
    model = _trust_region_problem(opt, max_kl=0.02)
    start = model.get_param_values()
    result = opt.optimize([x], extra_inputs=[start])
    step = model.get_param_values() - start
    grad = -np.concatenate([x.mean(0), [1.0]])  # d loss / d theta
    expected = -np.sqrt(2 * 0.02) * grad / np.linalg.norm(grad)
    # The first trial (ratio 1) is on the boundary; float32 rounding may push the KL a hair
    # over the limit, in which case the line search takes the next fraction (0.8).
    assert result["step_fraction"] in (1.0, 0.8)
    np.testing.assert_allclose(step, expected * result["step_fraction"], rtol=1e-3, atol=1e-6)
    assert result["constraint"] <= 0.02
    assert result["loss_after"] < result["loss_before"]


def test_step_that_cannot_improve_is_rejected(session):
    x = np.zeros((16, 3), dtype=np.float32)  # loss = -b only; make it constant in w ...
    opt = ConjugateGradientOptimizer(max_backtracks=3)
    model = LinearModel(3)
    x_ph = tf.compat.v1.placeholder(tf.float32, (None, 3))
    theta0 = tf.compat.v1.placeholder(tf.float32, (4,))
    theta = tf.concat([tf.reshape(v, [-1]) for v in model.get_trainable_vars()], 0)
    # ... and bounded below by its current value, so no step can reduce it.
    loss = tf.reduce_mean(tf.square(model(x_ph)))
    constraint = 0.5 * tf.reduce_sum(tf.square(theta - theta0))
    opt.update_opt(loss, model, (constraint, 0.01), [x_ph], extra_inputs=[theta0])
    start = model.get_param_values()
    result = opt.optimize([x], extra_inputs=[start])
    assert result["step_fraction"] == 0.0
    np.testing.assert_array_equal(model.get_param_values(), start)


def test_pickles_without_graph_handles_and_rebuilds(session):
    opt = ConjugateGradientOptimizer(cg_iters=5)
    _trust_region_problem(opt, 0.01)
    restored = cloudpickle.loads(cloudpickle.dumps(opt))
    with tf.compat.v1.Session(graph=tf.Graph()):
        model = _trust_region_problem(restored, 0.01)
        start = model.get_param_values()
        x = np.ones((8, 3), dtype=np.float32)
        assert restored.optimize([x], extra_inputs=[start])["step_fraction"] > 0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"cg_iters": 0}, "cg_iters=0"),
    ({"backtrack_ratio": 1.0}, "backtrack_ratio=1.0"),
    ({"subsample_factor": 0.0}, "subsample_factor=0.0"),
    ({"max_backtracks": 0}, "max_backtracks=0"),
    ({"reg_coeff": -1.0}, "reg_coeff=-1.0"),
    ({"hvp_approach": "finite"}, "hvp_approach='finite'"),
])
def test_invalid_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ConjugateGradientOptimizer(**kwargs)
