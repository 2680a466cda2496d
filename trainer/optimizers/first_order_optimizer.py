"""Minibatch first-order optimisation (Adam by default) whose optimizer state survives pickling."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from trainer.errors import ConfigError, SnapshotIncompatibleError
from trainer.optimizers._graph import Parameterized, check_inputs, compile_callable, make_rng
from trainer.tf_utils import FlatParameters, flatten_arrays, require_default_session

_log = logging.getLogger(__name__)

_RNG_SALT = 0x0F0  # Seeds the minibatch shuffling generator (see make_rng).


class FirstOrderOptimizer:
    """Minimise a loss with a TF1 ``tf.compat.v1.train`` optimizer over shuffled minibatches.

    garage's ``FirstOrderOptimizer`` with three changes: the optimizer's own state (Adam's
    moments and step counters) is pickled and restored, which garage did not do; minibatch
    shuffling uses a pickled generator seeded from ``trainer.seeding``; gradients can be clipped
    by global norm.

    Every optimisation epoch visits each sample once in random minibatches, each one compiled
    graph call. Optimisation stops after ``max_optimization_epochs`` epochs, or earlier when the
    mean minibatch loss of an epoch changes by less than ``tolerance`` from the previous epoch's
    (garage re-evaluated the full-batch loss after every epoch; reusing the minibatch losses
    saves one graph call per epoch).

    Args:
        optimizer: A ``tf.compat.v1.train.Optimizer`` subclass. Default
            ``tf.compat.v1.train.AdamOptimizer``.
        learning_rate: The learning rate, or a dict of keyword arguments for ``optimizer``
            (e.g. ``{"learning_rate": 3e-4, "epsilon": 1e-5}``). Default 1e-3.
        max_optimization_epochs: Passes over the data per :meth:`optimize`. Default 1000.
        tolerance: Stop early when the epoch loss changes by less than this; ``0`` never stops
            early. Default 1e-6.
        batch_size: Minibatch size in samples; ``None`` uses the whole batch. Default 32.
        callback: Called after every epoch with keyword arguments ``loss``, ``params``
            (flat parameter vector), ``itr`` and ``elapsed`` (seconds). Default ``None``.
        verbose: Log the loss of every epoch. Default ``False``.
        max_grad_norm: Clip the gradient to this global norm; ``None`` does not clip.
            Default ``None``.
        name: Name scope of the ops. Default ``"FirstOrderOptimizer"``.

    Raises:
        ConfigError: If a numeric argument is out of range or ``optimizer`` is not an optimizer
            class.
    """

    def __init__(
        self,
        optimizer: type | None = None,
        learning_rate: float | dict[str, Any] | None = None,
        max_optimization_epochs: int = 1000,
        tolerance: float = 1e-6,
        batch_size: int | None = 32,
        callback: Callable[..., Any] | None = None,
        verbose: bool = False,
        max_grad_norm: float | None = None,
        name: str = "FirstOrderOptimizer",
    ) -> None:
        optimizer = tf.compat.v1.train.AdamOptimizer if optimizer is None else optimizer
        base = tf.compat.v1.train.Optimizer
        if not (isinstance(optimizer, type) and issubclass(optimizer, base)):
            raise ConfigError(
                f"optimizer={optimizer!r} is not valid: pass a tf.compat.v1.train.Optimizer "
                "subclass such as tf.compat.v1.train.AdamOptimizer (the class, not an instance).")
        self._tf_optimizer = optimizer
        self._learning_rate = _learning_rate_kwargs(learning_rate)
        self._max_optimization_epochs = _positive_int(
            "max_optimization_epochs", max_optimization_epochs)
        if not tolerance >= 0:
            raise ConfigError(f"tolerance={tolerance!r} is not valid: it must be >= 0 "
                              "(0 disables early stopping).")
        self._tolerance = float(tolerance)
        self._batch_size = None if batch_size is None else _positive_int("batch_size", batch_size)
        if max_grad_norm is not None and not max_grad_norm > 0:
            raise ConfigError(f"max_grad_norm={max_grad_norm!r} is not valid: it must be > 0, "
                              "or None to not clip gradients.")
        self._max_grad_norm = max_grad_norm
        self._callback = callback
        self._verbose = verbose
        self._name = name
        self._rng = make_rng(_RNG_SALT)
        self._saved_state: list[np.ndarray] | None = None
        self._reset_graph_handles()

    def _reset_graph_handles(self) -> None:
        self._sess: tf.compat.v1.Session | None = None
        self._target: Parameterized | None = None
        self._n_inputs = 0
        self._f_train: Callable[..., Any] | None = None
        self._f_loss: Callable[..., Any] | None = None
        self._state_vars: list[tf.Variable] = []
        self._state_params: FlatParameters | None = None

    def update_opt(
        self,
        loss: tf.Tensor,
        target: Parameterized,
        inputs: Sequence[tf.Tensor],
        extra_inputs: Sequence[tf.Tensor] | None = None,
        **kwargs: Any,
    ) -> None:
        """Build the training op for ``loss`` over ``target``'s trainable variables.

        Call it inside the target's graph (e.g. from an algorithm's constructor). If this
        optimizer was unpickled, the saved optimizer state is assigned to the new slots.

        Args:
            loss: Scalar loss tensor to minimise (a mean over the rows of ``inputs``).
            target: The object whose ``get_trainable_vars()`` are optimised.
            inputs: Placeholders fed with per-sample arrays; minibatches slice these.
            extra_inputs: Placeholders fed whole on every call (e.g. a coefficient).
            **kwargs: Ignored (garage passes e.g. ``leq_constraint`` to every optimizer).

        Raises:
            SnapshotIncompatibleError: If a restored optimizer state does not fit the new slots.
        """
        del kwargs
        sess = require_default_session(type(self).__name__)
        params = list(target.get_trainable_vars())
        feeds = list(inputs) + list(extra_inputs or [])
        with tf.name_scope(self._name):
            tf_optimizer = self._tf_optimizer(**self._learning_rate)
            grads_and_vars = [(g, v) for g, v in tf_optimizer.compute_gradients(loss, params)
                              if g is not None]
            if self._max_grad_norm is not None:
                clipped, _ = tf.clip_by_global_norm([g for g, _ in grads_and_vars],
                                                    self._max_grad_norm)
                grads_and_vars = list(zip(clipped, [v for _, v in grads_and_vars]))
            train_op = tf_optimizer.apply_gradients(grads_and_vars)
        self._sess = sess
        self._target = target
        self._n_inputs = len(inputs)
        self._f_train = compile_callable(sess, [train_op, loss], feeds)
        self._f_loss = compile_callable(sess, loss, feeds)
        self._state_vars = _optimizer_state_vars(tf_optimizer, params)
        self._state_params = FlatParameters(self._state_vars)
        sess.run(tf.compat.v1.variables_initializer(self._state_vars))
        if self._saved_state is not None:
            self._load_state(self._saved_state)
            self._saved_state = None

    def loss(
        self, inputs: Sequence[np.ndarray], extra_inputs: Sequence[Any] | None = None
    ) -> float:
        """Return the loss on the whole batch.

        Args:
            inputs: One array per input placeholder.
            extra_inputs: One value per extra input placeholder.
        """
        self._require_built()
        inputs = check_inputs(inputs, self._n_inputs, type(self).__name__)
        return float(self._f_loss(*inputs, *(extra_inputs or [])))

    def optimize(
        self,
        inputs: Sequence[np.ndarray],
        extra_inputs: Sequence[Any] | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> float:
        """Run up to ``max_optimization_epochs`` epochs of minibatch steps.

        Args:
            inputs: One array per input placeholder, each with one row per sample.
            extra_inputs: One value per extra input placeholder.
            callback: Called like the constructor's ``callback`` (in addition to it).

        Returns:
            The mean minibatch loss of the last epoch (measured before each step).
        """
        self._require_built()
        inputs = check_inputs(inputs, self._n_inputs, type(self).__name__)
        extra = list(extra_inputs or [])
        n = len(inputs[0])
        batch = n if self._batch_size is None else min(self._batch_size, n)
        start = time.time()
        last_loss = np.inf
        epoch_loss = np.nan
        for epoch in range(self._max_optimization_epochs):
            order = self._rng.permutation(n)
            losses = []
            for lo in range(0, n, batch):
                idx = order[lo:lo + batch]
                _, mb_loss = self._f_train(*[x[idx] for x in inputs], *extra)
                losses.append(float(mb_loss) * len(idx))
            epoch_loss = sum(losses) / n
            if self._verbose:
                _log.info("%s epoch %d: loss %.6g", self._name, epoch, epoch_loss)
            for cb in (self._callback, callback):
                if cb is not None:
                    cb(loss=epoch_loss, params=self._target.get_param_values(), itr=epoch,
                       elapsed=time.time() - start)
            if abs(last_loss - epoch_loss) < self._tolerance:
                break
            last_loss = epoch_loss
        return epoch_loss

    # ----------------------------------------------------------------- optimizer state

    def get_state(self) -> list[np.ndarray]:
        """Return the optimizer's own variables (e.g. Adam moments and beta powers) as arrays.

        Slots come in the order of the target's variables, then the non-slot variables.
        """
        if self._state_params is None:
            return [] if self._saved_state is None else list(self._saved_state)
        return [np.asarray(v) for v in self._sess.run(self._state_vars)]

    def _load_state(self, values: list[np.ndarray]) -> None:
        shapes = [tuple(v.shape) for v in values]
        if shapes != self._state_params.shapes:
            raise SnapshotIncompatibleError(
                f"the saved {self._tf_optimizer.__name__} state has variables of shapes {shapes} "
                f"but the rebuilt optimizer has {self._state_params.shapes}: the snapshot was "
                "made for a different network; restore it with the same policy architecture.")
        self._state_params.set(self._sess, flatten_arrays(values), name="optimizer state")

    def _require_built(self) -> None:
        if self._f_train is None:
            raise ConfigError(f"{type(self).__name__}: call update_opt(loss, target, inputs) "
                              "before loss() or optimize().")

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._state_params is not None and not getattr(self._sess, "_closed", True):
            state["_saved_state"] = self.get_state()
        for key in ("_sess", "_target", "_f_train", "_f_loss", "_state_vars", "_state_params"):
            state.pop(key)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset_graph_handles()


def _optimizer_state_vars(tf_optimizer: Any, params: Sequence[tf.Variable]) -> list[tf.Variable]:
    """The optimizer's variables in a stable order: slots per parameter, then the others."""
    slots = []
    for var in params:
        for slot_name in sorted(tf_optimizer.get_slot_names()):
            slot = tf_optimizer.get_slot(var, slot_name)
            if slot is not None:
                slots.append(slot)
    slot_ids = {id(s) for s in slots}
    others = [v for v in tf_optimizer.variables() if id(v) not in slot_ids]
    return slots + others


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{name}={value!r} is not valid: it must be an integer >= 1.")
    return int(value)


def _learning_rate_kwargs(learning_rate: float | dict[str, Any] | None) -> dict[str, Any]:
    if learning_rate is None:
        return {"learning_rate": 1e-3}
    kwargs = dict(learning_rate) if isinstance(learning_rate, dict) else {
        "learning_rate": learning_rate}
    lr = kwargs.get("learning_rate", 1e-3)
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not lr > 0:
        raise ConfigError(f"learning_rate={lr!r} is not valid: it must be a number > 0, "
                          "e.g. learning_rate=1e-3.")
    return kwargs
