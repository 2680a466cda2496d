from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from trainer.errors import ConfigError, NoDefaultSessionError
from trainer.tf_utils import (
    FlatParameters,
    flatten_arrays,
    initialize_uninitialized,
    require_default_session,
    unflatten_array,
)


def test_require_default_session_returns_the_entered_session():
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        assert require_default_session("Thing") is sess


def test_require_default_session_explains_each_failure():
    with pytest.raises(NoDefaultSessionError, match="Thing.*there is none.*TFTrainer"):
        require_default_session("Thing")
    sess = tf.compat.v1.Session(graph=tf.Graph())
    sess.close()
    with (
        sess.as_default(),
        sess.graph.as_default(),
        pytest.raises(NoDefaultSessionError, match="closed"),
    ):
        require_default_session("Thing")
    with (
        tf.compat.v1.Session(graph=tf.Graph()),
        tf.Graph().as_default(),
        pytest.raises(NoDefaultSessionError, match="another graph"),
    ):
        require_default_session("Thing")


def test_initialize_uninitialized_keeps_existing_values():
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        kept = tf.compat.v1.get_variable("kept", (2,), initializer=tf.zeros_initializer())
        fresh = tf.compat.v1.get_variable("fresh", (3,), initializer=tf.ones_initializer())
        sess.run(tf.compat.v1.variables_initializer([kept]))
        sess.run(kept.assign([5.0, 6.0]))

        done = initialize_uninitialized()

        assert done == [fresh]
        np.testing.assert_array_equal(sess.run(kept), [5.0, 6.0])
        np.testing.assert_array_equal(sess.run(fresh), [1.0, 1.0, 1.0])
        assert initialize_uninitialized() == []


def test_flat_parameters_round_trip_in_order():
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        a = tf.compat.v1.get_variable("a", (2, 3), initializer=tf.zeros_initializer())
        b = tf.compat.v1.get_variable("b", (4,), initializer=tf.zeros_initializer())
        sess.run(tf.compat.v1.variables_initializer([a, b]))
        flat = FlatParameters([a, b])
        values = np.arange(10, dtype=np.float32)

        flat.set(sess, values)

        assert flat.size == 10
        np.testing.assert_array_equal(sess.run(a), values[:6].reshape(2, 3))
        np.testing.assert_array_equal(sess.run(b), values[6:])
        np.testing.assert_array_equal(flat.get(sess), values)
        with pytest.raises(ConfigError, match=r"\(11,\) \(11 values\), but 10"):
            flat.set(sess, np.zeros(11))


def test_flatten_and_unflatten_are_inverse():
    arrays = [np.ones((2, 2)), np.arange(3.0)]
    parts = unflatten_array(flatten_arrays(arrays), [(2, 2), (3,)])
    for got, want in zip(parts, arrays):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ConfigError, match="weights"):
        unflatten_array(np.zeros((2, 3)), [(6,)], name="weights")
