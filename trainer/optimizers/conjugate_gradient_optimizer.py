"""Natural-gradient step under a hard KL limit: conjugate gradient plus backtracking line search.

The step of TRPO (Schulman et al. 2015, arXiv:1502.05477, Appendix C): solve ``H x = g`` for the
search direction with conjugate gradient, where ``H`` is the Hessian of the constraint (the
Fisher matrix for a KL constraint) applied through Hessian-vector products, scale the step to the
constraint's boundary, then shrink it until the loss improves and the constraint holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from trainer.errors import ConfigError
from trainer.optimizers._graph import (
    Parameterized,
    check_inputs,
    compile_callable,
    flat_gradient,
    make_rng,
    sliced_mean,
)
from trainer.tf_utils import require_default_session

_log = logging.getLogger(__name__)

_RNG_SALT = 0xC6  # Seeds the subsampling generator (see make_rng).


def conjugate_gradient(
    f_Ax: Callable[[np.ndarray], np.ndarray],  # noqa: N803 (the usual name of the operator)
    b: np.ndarray,
    cg_iters: int = 10,
    residual_tol: float = 1e-10,
) -> np.ndarray:
    """Approximately solve ``A x = b`` for a symmetric positive-definite ``A`` given as ``f_Ax``.

    Args:
        f_Ax: Function returning the product ``A v`` for a vector ``v``.
        b: Right-hand side.
        cg_iters: Maximum number of iterations (products with ``A``). Default 10.
        residual_tol: Stop when the squared residual norm falls below this. Default 1e-10.

    Returns:
        The approximate solution ``x``.
    """
    x = np.zeros_like(b, dtype=np.float64)
    r = np.array(b, dtype=np.float64)
    p = r.copy()
    r_dot_r = r.dot(r)
    for _ in range(cg_iters):
        if r_dot_r < residual_tol:
            break
        z = np.asarray(f_Ax(p), dtype=np.float64)
        alpha = r_dot_r / p.dot(z)
        x += alpha * p
        r -= alpha * z
        new_r_dot_r = r.dot(r)
        p = r + (new_r_dot_r / r_dot_r) * p
        r_dot_r = new_r_dot_r
    return x


class PearlmutterHVP:
    """Exact Hessian-vector products by differentiating ``grad(f) . v`` (Pearlmutter 1994).

    Args:
        num_slices: Evaluate products on this many slices of the inputs to bound memory.
            Default 1.
    """

    def __init__(self, num_slices: int = 1) -> None:
        self._num_slices = num_slices
        self._f_hvp: Callable[..., Any] | None = None
        self._reg_coeff = 0.0

    def update_hvp(self, f: tf.Tensor, target: Parameterized, inputs: Sequence[tf.Tensor],
                   reg_coeff: float, name: str = "PearlmutterHVP") -> None:
        """Build the product graph for the Hessian of ``f`` over ``target``'s variables.

        Args:
            f: Scalar tensor whose Hessian is applied (e.g. the mean KL).
            target: Object with ``get_trainable_vars()``.
            inputs: Placeholders ``f`` depends on.
            reg_coeff: Damping added as ``reg_coeff * v`` (keeps ``H`` positive definite).
            name: Name scope.
        """
        sess = require_default_session(type(self).__name__)
        params = list(target.get_trainable_vars())
        with tf.name_scope(name):
            grad = flat_gradient(f, params)
            vector = tf.compat.v1.placeholder(grad.dtype, shape=grad.shape, name="vector")
            hvp = flat_gradient(tf.reduce_sum(grad * tf.stop_gradient(vector)), params)
        self._reg_coeff = reg_coeff
        self._f_hvp = compile_callable(sess, hvp, list(inputs) + [vector])

    def build_eval(self, inputs: Sequence[np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
        """Return ``v -> (H + reg_coeff I) v`` evaluated on ``inputs``.

        Args:
            inputs: Arrays for the placeholders given to :meth:`update_hvp`.
        """
        def evaluate(v: np.ndarray) -> np.ndarray:
            hv = sliced_mean(self._f_hvp, list(inputs), [v.astype(np.float32)], self._num_slices)
            return np.asarray(hv, dtype=np.float64) + self._reg_coeff * v
        return evaluate


class ConjugateGradientOptimizer:
    """Minimise a loss subject to ``constraint <= max_constraint`` with a natural-gradient step.

    garage's ``ConjugateGradientOptimizer``: the Hessian-vector product uses Pearlmutter's trick,
    conjugate gradient runs ``cg_iters`` products, the step is scaled so that the quadratic
    model of the constraint equals its limit, and the line search tries the fractions
    ``backtrack_ratio**k`` of it for ``k < max_backtracks``. A step that does not reduce the loss
    within the limit is rejected (the parameters are restored) unless ``accept_violation``.

    Args:
        cg_iters: Conjugate gradient iterations. Default 10.
        reg_coeff: Damping of the Hessian. Default 1e-5.
        subsample_factor: Fraction of the samples used for Hessian-vector products, in
            ``(0, 1]``. Default 1.
        backtrack_ratio: Step shrink factor of the line search, in ``(0, 1)``. Default 0.8.
        max_backtracks: Maximum line-search trials. Default 15.
        accept_violation: Keep the last trial step even if it violates the constraint or does
            not improve the loss. Default ``False``.
        hvp_approach: A :class:`PearlmutterHVP`. Default ``None``: a new one with
            ``num_slices``.
        num_slices: Evaluate on this many slices of the batch to bound memory. Default 1.

    Raises:
        ConfigError: If an argument is out of range.
    """

    def __init__(
        self,
        cg_iters: int = 10,
        reg_coeff: float = 1e-5,
        subsample_factor: float = 1.0,
        backtrack_ratio: float = 0.8,
        max_backtracks: int = 15,
        accept_violation: bool = False,
        hvp_approach: PearlmutterHVP | None = None,
        num_slices: int = 1,
    ) -> None:
        _check("cg_iters", cg_iters, isinstance(cg_iters, int) and cg_iters >= 1, "an integer >= 1")
        _check("reg_coeff", reg_coeff, reg_coeff >= 0, ">= 0")
        _check("subsample_factor", subsample_factor, 0 < subsample_factor <= 1, "in (0, 1]")
        _check("backtrack_ratio", backtrack_ratio, 0 < backtrack_ratio < 1, "in (0, 1)")
        _check("max_backtracks", max_backtracks,
               isinstance(max_backtracks, int) and max_backtracks >= 1, "an integer >= 1")
        _check("num_slices", num_slices, isinstance(num_slices, int) and num_slices >= 1,
               "an integer >= 1")
        if hvp_approach is not None and not isinstance(hvp_approach, PearlmutterHVP):
            raise ConfigError(f"hvp_approach={hvp_approach!r} is not valid: pass a "
                              "PearlmutterHVP instance or None.")
        self._cg_iters = cg_iters
        self._reg_coeff = reg_coeff
        self._subsample_factor = subsample_factor
        self._backtrack_ratio = backtrack_ratio
        self._max_backtracks = max_backtracks
        self._accept_violation = accept_violation
        self._num_slices = num_slices
        self._hvp_approach = hvp_approach or PearlmutterHVP(num_slices=num_slices)
        self._rng = make_rng(_RNG_SALT)
        self._max_constraint_val = 0.0
        self._constraint_name = "constraint"
        self.last_step: dict[str, float] = {}
        self._reset_graph_handles()

    def _reset_graph_handles(self) -> None:
        self._target: Parameterized | None = None
        self._n_inputs = 0
        self._f_loss: Callable[..., Any] | None = None
        self._f_grad: Callable[..., Any] | None = None
        self._f_loss_constraint: Callable[..., Any] | None = None

    def update_opt(
        self,
        loss: tf.Tensor,
        target: Parameterized,
        leq_constraint: tuple[tf.Tensor, float],
        inputs: Sequence[tf.Tensor],
        extra_inputs: Sequence[tf.Tensor] | None = None,
        name: str = "ConjugateGradientOptimizer",
        constraint_name: str = "constraint",
        **kwargs: Any,
    ) -> None:
        """Build the gradient, Hessian-vector product and evaluation callables.

        Args:
            loss: Scalar loss to minimise (a mean over the rows of ``inputs``).
            target: Object with ``get_trainable_vars``/``get_param_values``/``set_param_values``.
            leq_constraint: ``(constraint_tensor, max_value)``; e.g. ``(mean_kl, 0.01)``.
            inputs: Placeholders fed with per-sample arrays.
            extra_inputs: Placeholders fed whole.
            name: Name scope.
            constraint_name: Name of the constraint in log messages.
            **kwargs: Ignored.
        """
        del kwargs
        sess = require_default_session(type(self).__name__)
        constraint, max_constraint = leq_constraint
        feeds = list(inputs) + list(extra_inputs or [])
        with tf.name_scope(name):
            grad = flat_gradient(loss, list(target.get_trainable_vars()))
            self._hvp_approach.update_hvp(constraint, target, feeds, self._reg_coeff,
                                          name=f"hvp_{constraint_name}")
        self._target = target
        self._n_inputs = len(inputs)
        self._max_constraint_val = float(max_constraint)
        self._constraint_name = constraint_name
        self._f_loss = compile_callable(sess, loss, feeds)
        self._f_grad = compile_callable(sess, grad, feeds)
        self._f_loss_constraint = compile_callable(sess, [loss, constraint], feeds)

    def loss(
        self, inputs: Sequence[np.ndarray], extra_inputs: Sequence[Any] | None = None
    ) -> float:
        """Return the loss on the whole batch."""
        return float(sliced_mean(self._f_loss, self._inputs(inputs), extra_inputs or [],
                                 self._num_slices))

    def constraint_val(self, inputs: Sequence[np.ndarray],
                       extra_inputs: Sequence[Any] | None = None) -> float:
        """Return the constraint's value on the whole batch."""
        _, value = sliced_mean(self._f_loss_constraint, self._inputs(inputs), extra_inputs or [],
                               self._num_slices)
        return float(value)

    def optimize(self, inputs: Sequence[np.ndarray],
                 extra_inputs: Sequence[Any] | None = None) -> dict[str, float]:
        """Take one constrained step from the target's current parameters.

        Args:
            inputs: One array per input placeholder.
            extra_inputs: One value per extra input placeholder.

        Returns:
            ``loss_before``, ``loss_after``, ``constraint`` (after), ``step_fraction`` (the
            accepted fraction of the full step, 0 if rejected) and ``backtracks``; also kept
            as :attr:`last_step`.
        """
        inputs = self._inputs(inputs)
        extra = list(extra_inputs or [])
        prev_params = np.asarray(self._target.get_param_values(), dtype=np.float64)
        loss_before = float(sliced_mean(self._f_loss, inputs, extra, self._num_slices))
        grad = np.asarray(sliced_mean(self._f_grad, inputs, extra, self._num_slices),
                          dtype=np.float64)
        hx = self._hvp_approach.build_eval(self._subsample(inputs) + extra)
        direction = conjugate_gradient(hx, grad, cg_iters=self._cg_iters)
        curvature = float(direction.dot(hx(direction)))
        step_size = np.sqrt(2.0 * self._max_constraint_val / (curvature + 1e-8))
        if not np.isfinite(step_size):
            step_size = 1.0
        full_step = step_size * direction
        loss, constraint, ratio, n_tried = np.nan, np.nan, 0.0, 0
        for ratio in self._backtrack_ratio ** np.arange(self._max_backtracks):
            n_tried += 1
            self._target.set_param_values((prev_params - ratio * full_step).astype(np.float32))
            loss, constraint = (float(v) for v in sliced_mean(
                self._f_loss_constraint, inputs, extra, self._num_slices))
            if loss < loss_before and constraint <= self._max_constraint_val:
                break
        failed = (not np.isfinite(loss) or not np.isfinite(constraint) or loss >= loss_before
                  or constraint > self._max_constraint_val)
        if failed and not self._accept_violation:
            _log.info("Line search condition violated (loss %.6g -> %.6g, %s %.6g > %.6g). "
                      "Rejecting the step!", loss_before, loss, self._constraint_name,
                      constraint, self._max_constraint_val)
            self._target.set_param_values(prev_params.astype(np.float32))
            loss, constraint, ratio = loss_before, 0.0, 0.0
        self.last_step = {"loss_before": loss_before, "loss_after": float(loss),
                          "constraint": float(constraint), "step_fraction": float(ratio),
                          "backtracks": float(n_tried)}
        return self.last_step

    def _inputs(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        if self._f_loss is None:
            raise ConfigError(f"{type(self).__name__}: call update_opt(loss, target, "
                              "leq_constraint, inputs) before loss() or optimize().")
        return check_inputs(inputs, self._n_inputs, type(self).__name__)

    def _subsample(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        if self._subsample_factor >= 1:
            return inputs
        n = len(inputs[0])
        idx = self._rng.choice(n, max(1, int(n * self._subsample_factor)), replace=False)
        return [x[idx] for x in inputs]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("_target", "_f_loss", "_f_grad", "_f_loss_constraint"):
            state.pop(key)
        state["_hvp_approach"] = PearlmutterHVP(self._hvp_approach._num_slices)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset_graph_handles()


def _check(name: str, value: Any, ok: bool, expected: str) -> None:
    if not ok:
        raise ConfigError(f"{name}={value!r} is not valid: it must be {expected}.")
