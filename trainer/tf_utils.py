"""TensorFlow helpers shared by policies, baselines, optimizers and algorithms.

trainflow uses TensorFlow TF1-style, as garage did: components build their variables and ops in
the default graph of the default ``tf.compat.v1.Session`` that :class:`~trainer.TFTrainer` enters.
This module holds the three things every such component needs: a check that a usable default
session exists, flat get/set of a list of variables through one cached op, and initialisation of
just the variables that are not initialised yet.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from trainer.errors import ConfigError, NoDefaultSessionError


def session_is_usable(sess: tf.compat.v1.Session | None) -> bool:
    """Return whether ``sess`` exists and has not been closed.

    Args:
        sess: A TF1 session, or ``None``.
    """
    # BaseSession only exposes closure through this attribute; a closed session raises
    # "Attempted to use a closed Session" (garage #1787) on any run.
    return sess is not None and not getattr(sess, "_closed", False)


def require_default_session(component: str) -> tf.compat.v1.Session:
    """Return the default TF1 session, or raise a clear error if there is none.

    The session must be open and its graph must be the default graph, which is what
    ``with TFTrainer(...) as trainer:`` (or ``with tf.compat.v1.Session(graph=g) as sess:``)
    establishes.

    Args:
        component: What is being built, for the message, e.g. ``"CategoricalMLPPolicy"``.

    Returns:
        The default session.

    Raises:
        NoDefaultSessionError: If there is no default session, it is closed, or its graph is
            not the default graph.
    """
    sess = tf.compat.v1.get_default_session()
    fix = (f"construct {component} inside `with TFTrainer(snapshot_config) as trainer:` (or "
           "inside `with tf.compat.v1.Session(graph=tf.Graph()):`), which makes a session and "
           "its graph the defaults.")
    if sess is None:
        raise NoDefaultSessionError(f"{component} needs a default TensorFlow session, and there "
                                    f"is none: {fix}")
    if not session_is_usable(sess):
        raise NoDefaultSessionError(f"{component} needs a default TensorFlow session, but the "
                                    f"default one is closed: {fix}")
    if sess.graph is not tf.compat.v1.get_default_graph():
        raise NoDefaultSessionError(
            f"{component} needs the default session's graph to be the default graph, but "
            f"another graph is the default (a `with graph.as_default():` block?): {fix}")
    return sess


def initialize_uninitialized(sess: tf.compat.v1.Session | None = None,
                             var_list: Sequence[tf.Variable] | None = None) -> list[tf.Variable]:
    """Initialise the variables that hold no value yet, and only those.

    Variables that already hold values (restored weights, Adam moments) keep them. This is
    garage's ``TFTrainer.initialize_tf_vars`` as a function.

    Args:
        sess: Session to run in. Default ``None``: the default session.
        var_list: Variables to consider. Default ``None``: every global variable of the
            session's graph.

    Returns:
        The variables that were initialised.

    Raises:
        NoDefaultSessionError: If ``sess`` is ``None`` and there is no usable default session.
    """
    if sess is None:
        sess = require_default_session("initialize_uninitialized")
    with sess.graph.as_default(), tf.name_scope("initialize_uninitialized"):
        if var_list is None:
            var_list = tf.compat.v1.global_variables()
        var_list = list(var_list)
        if not var_list:
            return []
        names = sess.run(tf.compat.v1.report_uninitialized_variables(var_list))
        uninitialized = {name.decode() for name in names}
        to_init = [v for v in var_list if v.op.name in uninitialized]
        if to_init:
            sess.run(tf.compat.v1.variables_initializer(to_init))
    return to_init


def flatten_arrays(arrays: Sequence[np.ndarray], dtype: type = np.float32) -> np.ndarray:
    """Concatenate arrays into one flat vector.

    Args:
        arrays: Arrays of any shapes.
        dtype: Dtype of the result. Default ``np.float32``.

    Returns:
        A 1-D array of ``sum(a.size for a in arrays)`` elements.
    """
    if not arrays:
        return np.zeros(0, dtype=dtype)
    return np.concatenate([np.asarray(a, dtype=dtype).ravel() for a in arrays])


def unflatten_array(flat: np.ndarray, shapes: Sequence[tuple[int, ...]],
                    name: str = "flat") -> list[np.ndarray]:
    """Split a flat vector into arrays of the given shapes (copies, in order).

    Args:
        flat: A vector of exactly ``sum(prod(shape))`` elements.
        shapes: The shapes, in order.
        name: The parameter's name, for the error message. Default ``"flat"``.

    Returns:
        One array per shape.

    Raises:
        ConfigError: If ``flat`` is not 1-D or has the wrong number of elements.
    """
    flat = np.asarray(flat)
    expected = int(sum(int(np.prod(s)) for s in shapes))
    if flat.ndim != 1 or flat.size != expected:
        raise ConfigError(
            f"{name} has shape {flat.shape} ({flat.size} values), but {expected} values are "
            f"expected: pass a 1-D vector such as the one get_param_values() returns.")
    out = []
    start = 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(flat[start:start + size].reshape(shape).copy())
        start += size
    return out


class FlatParameters:
    """Read and assign a fixed, ordered list of variables as one flat float32 vector.

    The assign op (one placeholder, split, reshape, grouped assigns) is built once, so a
    ``set`` costs one ``session.run`` whatever the number of variables.

    Args:
        variables: The variables, in the order of the flat vector. They must live in the
            default graph (build this inside the component's graph).
    """

    def __init__(self, variables: Sequence[tf.Variable]) -> None:
        self.variables = list(variables)
        self.shapes = [tuple(int(d) for d in v.shape) for v in self.variables]
        self.size = int(sum(int(np.prod(s)) for s in self.shapes))
        with tf.name_scope("flat_parameters"):
            self._flat_ph = tf.compat.v1.placeholder(tf.float32, shape=(self.size,), name="flat")
            sizes = [int(np.prod(s)) for s in self.shapes]
            parts = tf.split(self._flat_ph, sizes) if self.variables else []
            self._assign_op = tf.group(*[
                v.assign(tf.cast(tf.reshape(p, s), v.dtype.base_dtype))
                for v, p, s in zip(self.variables, parts, self.shapes)])

    def get(self, sess: tf.compat.v1.Session) -> np.ndarray:
        """Return the variables' current values as one flat float32 vector.

        Args:
            sess: The session that holds the variables.
        """
        return flatten_arrays(sess.run(self.variables))

    def set(self, sess: tf.compat.v1.Session, flat: np.ndarray,
            name: str = "flat") -> list[np.ndarray]:
        """Assign the variables from a flat vector.

        Args:
            sess: The session that holds the variables.
            flat: Vector of exactly :attr:`size` values.
            name: The parameter's name, for the error message. Default ``"flat"``.

        Returns:
            The assigned values, one float32 array per variable.

        Raises:
            ConfigError: If ``flat`` has the wrong size.
        """
        arrays = unflatten_array(np.asarray(flat, dtype=np.float32), self.shapes, name=name)
        sess.run(self._assign_op, feed_dict={self._flat_ph: flatten_arrays(arrays)})
        return arrays
