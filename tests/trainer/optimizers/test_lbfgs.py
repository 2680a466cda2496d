from __future__ import annotations

import numpy as np

from trainer.optimizers import lbfgs_minimize


def _rosenbrock(x: np.ndarray) -> tuple[float, np.ndarray]:
    a, b = x
    f = (1 - a) ** 2 + 100 * (b - a * a) ** 2
    grad = np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])
    return f, grad


def test_minimises_rosenbrock():
    x, f = lbfgs_minimize(_rosenbrock, np.array([-1.2, 1.0]), max_iter=200)
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-3)
    assert f < 1e-6


def test_quadratic_converges_in_few_iterations():
    a = np.diag([1.0, 4.0, 9.0])
    b = np.array([1.0, 2.0, 3.0])
    calls = []

    def f(x):
        calls.append(1)
        return 0.5 * x @ a @ x - b @ x, a @ x - b

    x, _ = lbfgs_minimize(f, np.zeros(3), max_iter=20)
    np.testing.assert_allclose(x, np.linalg.solve(a, b), atol=1e-5)
    assert len(calls) < 40


def test_never_returns_a_worse_point():
    # A function whose gradient points the wrong way: no step decreases f.
    x, f = lbfgs_minimize(lambda x: (float(x @ x), -2 * x), np.array([1.0, 2.0]), max_iter=5)
    np.testing.assert_array_equal(x, [1.0, 2.0])
    assert f == 5.0
