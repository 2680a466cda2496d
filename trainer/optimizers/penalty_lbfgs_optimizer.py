"""Soft constraint: minimise ``loss + penalty * constraint`` with L-BFGS, adapting the penalty."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from trainer.errors import ConfigError
from trainer.optimizers._graph import Parameterized, check_inputs, compile_callable, flat_gradient
from trainer.optimizers.lbfgs import lbfgs_minimize
from trainer.tf_utils import require_default_session

_log = logging.getLogger(__name__)


class PenaltyLBFGSOptimizer:
    """Penalised optimisation with a penalty coefficient adapted to hit the constraint limit.

    garage's ``PenaltyLBFGSOptimizer`` (used by ``TRPO(kl_constraint='soft')``): each
    :meth:`optimize` runs up to ``max_penalty_itr`` L-BFGS solves of ``loss + penalty * KL``
    from the current parameters. The first solve decides the direction: if the constraint is
    violated the penalty is multiplied by ``increase_penalty_factor`` until it holds, otherwise
    divided until it would be violated; the last parameters that satisfied the constraint are
    kept. The penalty carries over to the next call (and is pickled).

    Args:
        max_opt_itr: L-BFGS iterations per solve. Default 20.
        initial_penalty: Starting penalty coefficient. Default 1.
        min_penalty: Lower bound of the penalty. Default 1e-2.
        max_penalty: Upper bound of the penalty. Default 1e6.
        increase_penalty_factor: Multiplier when the constraint is violated (> 1). Default 2.
        decrease_penalty_factor: Multiplier when it holds (in (0, 1)). Default 0.5.
        max_penalty_itr: Maximum solves per :meth:`optimize`. Default 10.
        adapt_penalty: Adapt the penalty; ``False`` runs one solve. Default ``True``.

    Raises:
        ConfigError: If an argument is out of range.
    """

    def __init__(
        self,
        max_opt_itr: int = 20,
        initial_penalty: float = 1.0,
        min_penalty: float = 1e-2,
        max_penalty: float = 1e6,
        increase_penalty_factor: float = 2.0,
        decrease_penalty_factor: float = 0.5,
        max_penalty_itr: int = 10,
        adapt_penalty: bool = True,
    ) -> None:
        checks = [
            ("max_opt_itr", max_opt_itr, isinstance(max_opt_itr, int) and max_opt_itr >= 1,
             "an integer >= 1"),
            ("min_penalty", min_penalty, min_penalty > 0, "> 0"),
            ("max_penalty", max_penalty, max_penalty >= min_penalty, ">= min_penalty"),
            ("initial_penalty", initial_penalty, initial_penalty > 0, "> 0"),
            ("increase_penalty_factor", increase_penalty_factor, increase_penalty_factor > 1,
             "> 1"),
            ("decrease_penalty_factor", decrease_penalty_factor,
             0 < decrease_penalty_factor < 1, "in (0, 1)"),
            ("max_penalty_itr", max_penalty_itr,
             isinstance(max_penalty_itr, int) and max_penalty_itr >= 1, "an integer >= 1"),
        ]
        for name, value, ok, expected in checks:
            if not ok:
                raise ConfigError(f"{name}={value!r} is not valid: it must be {expected}.")
        self._max_opt_itr = max_opt_itr
        self._penalty = float(initial_penalty)
        self._min_penalty = float(min_penalty)
        self._max_penalty = float(max_penalty)
        self._increase_penalty_factor = float(increase_penalty_factor)
        self._decrease_penalty_factor = float(decrease_penalty_factor)
        self._max_penalty_itr = max_penalty_itr
        self._adapt_penalty = adapt_penalty
        self._max_constraint_val = 0.0
        self._constraint_name = "constraint"
        self._reset_graph_handles()

    def _reset_graph_handles(self) -> None:
        self._target: Parameterized | None = None
        self._n_inputs = 0
        self._f_loss: Callable[..., Any] | None = None
        self._f_constraint: Callable[..., Any] | None = None
        self._f_penalized: Callable[..., Any] | None = None
        self._f_opt: Callable[..., Any] | None = None

    @property
    def penalty(self) -> float:
        """The current penalty coefficient."""
        return self._penalty

    def update_opt(
        self,
        loss: tf.Tensor,
        target: Parameterized,
        leq_constraint: tuple[tf.Tensor, float],
        inputs: Sequence[tf.Tensor],
        constraint_name: str = "constraint",
        name: str = "PenaltyLBFGSOptimizer",
        **kwargs: Any,
    ) -> None:
        """Build the penalised loss and its gradient.

        Args:
            loss: Scalar loss to minimise.
            target: Object with ``get_trainable_vars``/``get_param_values``/``set_param_values``.
            leq_constraint: ``(constraint_tensor, max_value)``.
            inputs: Placeholders fed with per-sample arrays.
            constraint_name: Name of the constraint in log messages.
            name: Name scope.
            **kwargs: Ignored.
        """
        del kwargs
        sess = require_default_session(type(self).__name__)
        constraint, max_constraint = leq_constraint
        with tf.name_scope(name):
            penalty = tf.compat.v1.placeholder(tf.float32, shape=(), name="penalty")
            penalized = loss + penalty * constraint
            grad = flat_gradient(penalized, list(target.get_trainable_vars()))
        feeds = list(inputs) + [penalty]
        self._target = target
        self._n_inputs = len(inputs)
        self._max_constraint_val = float(max_constraint)
        self._constraint_name = constraint_name
        self._f_loss = compile_callable(sess, loss, list(inputs))
        self._f_constraint = compile_callable(sess, constraint, list(inputs))
        self._f_penalized = compile_callable(sess, [penalized, loss, constraint], feeds)
        self._f_opt = compile_callable(sess, [penalized, grad], feeds)

    def loss(self, inputs: Sequence[np.ndarray]) -> float:
        """Return the (unpenalised) loss on the whole batch."""
        return float(self._f_loss(*self._inputs(inputs)))

    def constraint_val(self, inputs: Sequence[np.ndarray]) -> float:
        """Return the constraint's value on the whole batch."""
        return float(self._f_constraint(*self._inputs(inputs)))

    def optimize(self, inputs: Sequence[np.ndarray], **kwargs: Any) -> None:
        """Move the target's parameters to the best penalised solution found.

        Args:
            inputs: One array per input placeholder.
            **kwargs: Ignored (garage passes ``name``).
        """
        del kwargs
        inputs = self._inputs(inputs)
        penalty = float(np.clip(self._penalty, self._min_penalty, self._max_penalty))
        scale: float | None = None
        start = np.asarray(self._target.get_param_values(), dtype=np.float64)
        best = start

        for _ in range(self._max_penalty_itr):
            params, _ = lbfgs_minimize(self._penalized_fn(inputs, penalty), start,
                                       max_iter=self._max_opt_itr)
            self._target.set_param_values(params.astype(np.float32))
            _, loss, constraint = (float(v) for v in self._f_penalized(*inputs, penalty))
            _log.info("penalty %g => loss %g, %s %g", penalty, loss, self._constraint_name,
                      constraint)
            satisfied = constraint < self._max_constraint_val
            if satisfied:
                best = params
            if not self._adapt_penalty:
                break
            if scale is None or np.isnan(constraint):
                scale = (self._decrease_penalty_factor if satisfied
                         else self._increase_penalty_factor)
            elif (scale > 1) == satisfied:  # Crossed the limit: the last satisfying one wins.
                break
            penalty = float(np.clip(penalty * scale, self._min_penalty, self._max_penalty))
            self._penalty = penalty
        self._target.set_param_values(best.astype(np.float32))

    def _penalized_fn(self, inputs: list[np.ndarray],
                      penalty: float) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        def f(flat_params: np.ndarray) -> tuple[float, np.ndarray]:
            self._target.set_param_values(flat_params.astype(np.float32))
            value, grad = self._f_opt(*inputs, penalty)
            return float(value), np.asarray(grad, dtype=np.float64)
        return f

    def _inputs(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        if self._f_opt is None:
            raise ConfigError(f"{type(self).__name__}: call update_opt(loss, target, "
                              "leq_constraint, inputs) before loss() or optimize().")
        return check_inputs(inputs, self._n_inputs, type(self).__name__)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("_target", "_f_loss", "_f_constraint", "_f_penalized", "_f_opt"):
            state.pop(key)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset_graph_handles()
