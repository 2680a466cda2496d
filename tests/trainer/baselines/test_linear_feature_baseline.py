from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from tests.trainer.baselines.conftest import episodes, explained_variance
from trainer.baselines import LinearFeatureBaseline
from trainer.envs import EnvSpec
from trainer.errors import ConfigError, NumericalError

SPEC = EnvSpec(gym.spaces.Box(-np.inf, np.inf, (2,), np.float64), gym.spaces.Discrete(2))
PATH = {
    "observations": np.array([[1.0, -2.0], [20.0, 0.5], [3.0, -30.0]]),
    "returns": np.array([3.0, 2.0, 1.0]),
}
# Features of PATH worked out by hand: clip(obs, ±10), its square, t/100, (t/100)^2,
# (t/100)^3, 1.
FEATURES = np.array(
    [
        [1.0, -2.0, 1.0, 4.0, 0.00, 0.0000, 0.000000, 1.0],
        [10.0, 0.5, 100.0, 0.25, 0.01, 0.0001, 0.000001, 1.0],
        [3.0, -10.0, 9.0, 100.0, 0.02, 0.0004, 0.000008, 1.0],
    ]
)


def test_predicts_zeros_before_the_first_fit():
    baseline = LinearFeatureBaseline(SPEC)

    np.testing.assert_array_equal(baseline.predict(PATH), np.zeros(3))
    assert baseline.get_param_values().shape == (8,)


def test_prediction_uses_garages_features():
    baseline = LinearFeatureBaseline(SPEC)
    coeffs = np.arange(1.0, 9.0)

    baseline.set_param_values(coeffs)

    np.testing.assert_allclose(baseline.predict(PATH), FEATURES @ coeffs)


def test_fit_is_the_ridge_solution():
    baseline = LinearFeatureBaseline(SPEC, reg_coeff=0.1)
    second = {"observations": PATH["observations"][::-1] / 2, "returns": np.array([1.0, 0, 4])}

    baseline.fit([PATH, second])

    second_features = np.array(
        [
            [1.5, -10.0, 2.25, 100.0, 0.00, 0.0000, 0.000000, 1.0],
            [10.0, 0.25, 100.0, 0.0625, 0.01, 0.0001, 0.000001, 1.0],
            [0.5, -1.0, 0.25, 1.0, 0.02, 0.0004, 0.000008, 1.0],
        ]
    )
    x = np.vstack([FEATURES, second_features])
    y = np.concatenate([PATH["returns"], second["returns"]])
    expected = np.linalg.solve(x.T @ x + 0.1 * np.eye(8), x.T @ y)
    np.testing.assert_allclose(baseline.get_param_values(), expected, rtol=1e-6, atol=1e-9)


def test_fits_real_episode_returns():
    paths = episodes("CartPole-v1", 30)
    spec = EnvSpec(gym.make("CartPole-v1").observation_space, gym.spaces.Discrete(2))
    baseline = LinearFeatureBaseline(spec)

    baseline.fit(paths)

    predicted = np.concatenate([baseline.predict(p) for p in paths])
    target = np.concatenate([p["returns"] for p in paths])
    # Random CartPole returns are mostly unpredictable noise; the fit must still explain a
    # clear share of them (the mean alone explains none).
    assert explained_variance(predicted, target) > 0.3


def test_discrete_observations_become_one_hot_features():
    spec = EnvSpec(gym.spaces.Discrete(5), gym.spaces.Discrete(2))
    baseline = LinearFeatureBaseline(spec)
    # Return 10 in state 3 and 0 elsewhere is linear in the one-hot features.
    path = {"observations": np.array([0, 3, 1, 3, 4, 2]), "returns": np.zeros(6)}
    path["returns"][path["observations"] == 3] = 10.0

    baseline.fit([path])

    assert baseline.get_param_values().shape == (2 * 5 + 4,)
    np.testing.assert_allclose(baseline.predict(path), path["returns"], atol=1e-2)


def test_retries_with_a_larger_ridge_coefficient_on_nan(monkeypatch):
    # No finite input makes the regularised solve NaN, so the fault is injected.
    seen = []
    real_lstsq = np.linalg.lstsq

    def flaky_lstsq(a, b, rcond=None):
        seen.append(a[0, 0] - (FEATURES[:, 0] ** 2).sum())  # recovers reg_coeff
        result = real_lstsq(a, b, rcond=rcond)
        return (np.full_like(result[0], np.nan),) + result[1:] if len(seen) < 3 else result

    monkeypatch.setattr(np.linalg, "lstsq", flaky_lstsq)
    baseline = LinearFeatureBaseline(SPEC, reg_coeff=1e-3)

    baseline.fit([PATH])

    np.testing.assert_allclose(seen, [1e-3, 1e-2, 1e-1], rtol=1e-6)
    assert np.isfinite(baseline.get_param_values()).all()

    monkeypatch.setattr(
        np.linalg, "lstsq", lambda a, b, rcond=None: (np.full(len(b), np.nan), None, 0, None)
    )
    with pytest.raises(NumericalError, match="reg_coeff"):
        baseline.fit([PATH])


def test_param_values_round_trip_and_pickle():
    baseline = LinearFeatureBaseline(SPEC, name="vf")
    baseline.fit([PATH])

    copy = pickle.loads(pickle.dumps(baseline))
    other = LinearFeatureBaseline(SPEC)
    other.set_param_values(baseline.get_param_values())

    assert copy.name == "vf"
    np.testing.assert_array_equal(copy.predict(PATH), baseline.predict(PATH))
    np.testing.assert_array_equal(other.predict(PATH), baseline.predict(PATH))
    with pytest.raises(ConfigError, match=r"\(7,\).*8 coefficients"):
        other.set_param_values(np.zeros(7))


def test_bad_inputs_are_refused():
    with pytest.raises(ConfigError, match="reg_coeff=-1"):
        LinearFeatureBaseline(SPEC, reg_coeff=-1)
    baseline = LinearFeatureBaseline(SPEC)
    with pytest.raises(ConfigError, match="empty"):
        baseline.fit([])
    with pytest.raises(ConfigError, match=r"paths\[1\] has 3 observations but 2 returns"):
        baseline.fit([PATH, {"observations": PATH["observations"], "returns": [1.0, 2.0]}])
    with pytest.raises(ConfigError, match=r"paths\[0\].*NaN"):
        baseline.fit([{"observations": PATH["observations"], "returns": [1.0, np.nan, 2.0]}])


def test_does_not_import_tensorflow():
    code = (
        "import sys; from trainer.baselines import LinearFeatureBaseline; "
        "print('tensorflow' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert out.stdout.strip() == "False"
