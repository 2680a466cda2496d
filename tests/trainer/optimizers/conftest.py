"""A real TF regression problem for the optimizer tests: a linear model in its own session."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import tensorflow as tf

from trainer.tf_utils import FlatParameters


class LinearModel:
    """``y = x @ w + b`` with TF variables, exposing the optimizer target protocol."""

    def __init__(self, dim: int, name: str = "linear") -> None:
        self.sess = tf.compat.v1.get_default_session()
        with tf.compat.v1.variable_scope(None, default_name=name):
            self.w = tf.compat.v1.get_variable("w", (dim, 1), initializer=tf.zeros_initializer())
            self.b = tf.compat.v1.get_variable("b", (1,), initializer=tf.zeros_initializer())
        self.flat = FlatParameters([self.w, self.b])
        self.sess.run(tf.compat.v1.variables_initializer([self.w, self.b]))

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        return tf.squeeze(tf.matmul(x, self.w), -1) + self.b

    def get_trainable_vars(self) -> list[tf.Variable]:
        return [self.w, self.b]

    def get_param_values(self) -> np.ndarray:
        return self.flat.get(self.sess)

    def set_param_values(self, flat: np.ndarray) -> None:
        self.flat.set(self.sess, flat)


@pytest.fixture
def session() -> Iterator[tf.compat.v1.Session]:
    """A fresh graph and its session, both default for the test."""
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        yield sess


def regression_problem(dim: int = 3, n: int = 512, seed: int = 0
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noise-free data ``y = x @ w_true + 0.5``; returns ``(x, y, w_true)``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim)).astype(np.float32)
    w_true = rng.normal(size=dim).astype(np.float32)
    return x, (x @ w_true + 0.5).astype(np.float32), w_true
