"""A small L-BFGS minimiser (Nocedal & Wright, Numerical Optimization, 2nd ed., Alg. 7.4/7.5).

garage used ``scipy.optimize.fmin_l_bfgs_b``; scipy is not a dependency of trainflow, and the
penalty optimizer only needs a few unconstrained iterations on a smooth loss, which this
two-loop recursion with an Armijo backtracking line search provides.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

FunctionAndGradient = Callable[[np.ndarray], tuple[float, np.ndarray]]


def lbfgs_minimize(
    f_and_grad: FunctionAndGradient,
    x0: np.ndarray,
    max_iter: int = 20,
    history: int = 10,
    grad_tol: float = 1e-5,
    max_line_search: int = 20,
) -> tuple[np.ndarray, float]:
    """Minimise a smooth function from ``x0``.

    Args:
        f_and_grad: Returns ``(f(x), grad f(x))`` for a float64 vector ``x``.
        x0: Starting point.
        max_iter: Maximum number of iterations (line searches). Default 20.
        history: Number of curvature pairs kept. Default 10.
        grad_tol: Stop when the gradient's infinity norm falls below this. Default 1e-5.
        max_line_search: Maximum step halvings per line search. Default 20.

    Returns:
        ``(x, f(x))`` of the best point found; ``x0`` if no step decreased ``f``.
    """
    x = np.array(x0, dtype=np.float64)
    f, g = f_and_grad(x)
    f, g = float(f), np.asarray(g, dtype=np.float64)
    pairs: deque[tuple[np.ndarray, np.ndarray, float]] = deque(maxlen=history)
    for _ in range(max_iter):
        if not np.all(np.isfinite(g)) or np.max(np.abs(g)) < grad_tol:
            break
        direction = -_two_loop(g, pairs)
        slope = float(g.dot(direction))
        if slope >= 0:  # Not a descent direction (bad curvature pairs): restart from -g.
            pairs.clear()
            direction, slope = -g, float(-g.dot(g))
        step = 1.0 if pairs else min(1.0, 1.0 / max(np.abs(g).sum(), 1e-12))
        for _ in range(max_line_search):
            x_new = x + step * direction
            f_new, g_new = f_and_grad(x_new)
            f_new = float(f_new)
            if np.isfinite(f_new) and f_new <= f + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        g_new = np.asarray(g_new, dtype=np.float64)
        s, y = x_new - x, g_new - g
        sy = float(s.dot(y))
        if sy > 1e-10:
            pairs.append((s, y, 1.0 / sy))
        x, f, g = x_new, f_new, g_new
    return x, f


def _two_loop(g: np.ndarray, pairs: deque[tuple[np.ndarray, np.ndarray, float]]) -> np.ndarray:
    """Return the L-BFGS approximation of ``H^-1 g`` from the stored curvature pairs."""
    q = g.copy()
    alphas = []
    for s, y, rho in reversed(pairs):
        alpha = rho * s.dot(q)
        q -= alpha * y
        alphas.append(alpha)
    if pairs:
        s, y, _ = pairs[-1]
        q *= s.dot(y) / y.dot(y)
    for (s, y, rho), alpha in zip(pairs, reversed(alphas)):
        beta = rho * y.dot(q)
        q += (alpha - beta) * s
    return q
