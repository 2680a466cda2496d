from __future__ import annotations

import cloudpickle
import numpy as np
import pytest
import tensorflow as tf

from tests.trainer.optimizers.conftest import LinearModel, regression_problem
from trainer.errors import ConfigError, NoDefaultSessionError, SnapshotIncompatibleError
from trainer.optimizers import FirstOrderOptimizer
from trainer.seeding import set_seed


def _build(model: LinearModel, optimizer: FirstOrderOptimizer, dim: int = 3) -> None:
    x_ph = tf.compat.v1.placeholder(tf.float32, (None, dim))
    y_ph = tf.compat.v1.placeholder(tf.float32, (None,))
    loss = tf.reduce_mean(tf.square(model(x_ph) - y_ph))
    optimizer.update_opt(loss, model, [x_ph, y_ph])


def test_fits_linear_regression(session):
    x, y, w_true = regression_problem()
    model = LinearModel(3)
    opt = FirstOrderOptimizer(learning_rate=0.05, max_optimization_epochs=30, batch_size=64)
    _build(model, opt)
    before = opt.loss([x, y])
    opt.optimize([x, y])
    params = model.get_param_values()
    assert opt.loss([x, y]) < 1e-3 * before
    np.testing.assert_allclose(params[:3], w_true, atol=0.02)
    np.testing.assert_allclose(params[3], 0.5, atol=0.02)


def test_tolerance_stops_early_and_callback_sees_each_epoch(session):
    x, y, _ = regression_problem()
    model = LinearModel(3)
    seen = []
    opt = FirstOrderOptimizer(learning_rate=0.1, max_optimization_epochs=500, batch_size=None,
                              tolerance=1e-4, callback=lambda **kw: seen.append(kw))
    _build(model, opt)
    opt.optimize([x, y])
    assert 1 < len(seen) < 500
    assert [kw["itr"] for kw in seen] == list(range(len(seen)))
    assert set(seen[0]) == {"loss", "params", "itr", "elapsed"}
    assert abs(seen[-1]["loss"] - seen[-2]["loss"]) < 1e-4


def test_max_grad_norm_bounds_the_step(session):
    x, y, _ = regression_problem()
    model = LinearModel(3)
    opt = FirstOrderOptimizer(tf.compat.v1.train.GradientDescentOptimizer, learning_rate=1.0,
                              max_optimization_epochs=1, batch_size=None, max_grad_norm=0.1)
    _build(model, opt)
    opt.optimize([x, y * 100.0])
    assert np.linalg.norm(model.get_param_values()) == pytest.approx(0.1, rel=1e-4)


def test_adam_state_survives_pickle_into_a_fresh_graph(session):
    set_seed(3)
    x, y, _ = regression_problem()
    model = LinearModel(3)
    opt = FirstOrderOptimizer(learning_rate=0.01, max_optimization_epochs=2, batch_size=32)
    _build(model, opt)
    opt.optimize([x, y])
    state_before = opt.get_state()
    payload = cloudpickle.dumps((model.get_param_values(), opt))
    opt.optimize([x, y])  # The uninterrupted run continues.
    expected = model.get_param_values()

    with tf.compat.v1.Session(graph=tf.Graph()):
        params, restored = cloudpickle.loads(payload)
        model2 = LinearModel(3)
        model2.set_param_values(params)
        _build(model2, restored)
        state_after = restored.get_state()
        assert len(state_after) == len(state_before) == 6  # m, v of w and b; beta1/2 powers.
        for a, b in zip(state_before, state_after):
            np.testing.assert_array_equal(a, b)
        # Moments are not fresh: a fresh Adam would have zero first moments.
        assert np.abs(state_after[0]).sum() > 0
        restored.optimize([x, y])
        np.testing.assert_allclose(model2.get_param_values(), expected, rtol=1e-6, atol=1e-7)


def test_restored_state_of_another_shape_is_rejected(session):
    x, y, _ = regression_problem()
    model = LinearModel(3)
    opt = FirstOrderOptimizer(max_optimization_epochs=1)
    _build(model, opt)
    opt.optimize([x, y])
    payload = cloudpickle.dumps(opt)
    with tf.compat.v1.Session(graph=tf.Graph()):
        restored = cloudpickle.loads(payload)
        with pytest.raises(SnapshotIncompatibleError, match="shapes"):
            _build(LinearModel(5), restored, dim=5)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"learning_rate": -1.0}, "learning_rate=-1.0"),
    ({"max_optimization_epochs": 0}, "max_optimization_epochs=0"),
    ({"batch_size": 0}, "batch_size=0"),
    ({"tolerance": -1}, "tolerance=-1"),
    ({"max_grad_norm": 0.0}, "max_grad_norm=0.0"),
    ({"optimizer": "adam"}, "optimizer='adam'"),
])
def test_invalid_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        FirstOrderOptimizer(**kwargs)


def test_optimize_before_update_opt_and_wrong_inputs_raise(session):
    x, y, _ = regression_problem()
    opt = FirstOrderOptimizer()
    with pytest.raises(ConfigError, match="update_opt"):
        opt.optimize([x, y])
    _build(LinearModel(3), opt)
    with pytest.raises(ConfigError, match="2 input placeholders"):
        opt.optimize([x])
    with pytest.raises(ConfigError, match="different lengths"):
        opt.optimize([x, y[:10]])


def test_update_opt_outside_a_session_raises():
    graph = tf.Graph()
    with graph.as_default():
        var = tf.compat.v1.get_variable("v", (1,))

        class Target:
            def get_trainable_vars(self):
                return [var]

        with pytest.raises(NoDefaultSessionError, match="TFTrainer"):
            FirstOrderOptimizer().update_opt(tf.reduce_sum(var), Target(), [])
