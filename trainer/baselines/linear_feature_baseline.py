"""LinearFeatureBaseline: ridge regression of returns on polynomial features (numpy, no TF)."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from trainer.baselines._paths import stack_paths
from trainer.errors import ConfigError, NumericalError
from trainer.policies.spaces import ObservationFlattener

_OBS_CLIP = 10.0
_MAX_RETRIES = 5


class LinearFeatureBaseline:
    """garage's linear value baseline: no TF, fitted in closed form every epoch.

    Features of step ``t`` of an episode with flat observation ``o``: ``clip(o, -10, 10)``,
    ``clip(o, -10, 10)**2``, ``t/100``, ``(t/100)**2``, ``(t/100)**3`` and ``1``. The fit is
    ridge least squares; if it yields NaN the ridge coefficient is multiplied by 10 and the fit
    retried, up to 5 times. Predictions are zeros until the first fit.

    Args:
        env_spec: Anything with a gymnasium ``observation_space``.
        reg_coeff: Ridge coefficient. Default 1e-5.
        name: Name for the tabular key ``<name>/ExplainedVariance``. Default
            ``"LinearFeatureBaseline"``.

    Raises:
        ConfigError: If ``reg_coeff`` is negative or not a number.
    """

    def __init__(self, env_spec: Any, reg_coeff: float = 1e-5,
                 name: str = "LinearFeatureBaseline") -> None:
        if isinstance(reg_coeff, bool) or not isinstance(reg_coeff, numbers.Real) \
                or not reg_coeff >= 0:
            raise ConfigError(f"reg_coeff={reg_coeff!r} is not valid: give a number >= 0, "
                              "e.g. 1e-5.")
        self._env_spec = env_spec
        if not isinstance(name, str) or not name:
            raise ConfigError(f"name={name!r} is not valid: give a non-empty string.")
        self._name = name
        self._reg_coeff = float(reg_coeff)
        self._flattener = ObservationFlattener(env_spec.observation_space)
        self._coeffs = np.zeros(2 * self._flattener.flat_dim + 4)

    @property
    def name(self) -> str:
        """The baseline's name."""
        return self._name

    @property
    def env_spec(self) -> Any:
        """The environment spec the baseline was built for."""
        return self._env_spec

    def _features(self, path: Mapping[str, np.ndarray]) -> np.ndarray:
        obs = self._flattener.flatten_n(path["observations"]).astype(np.float64)
        obs = np.clip(obs, -_OBS_CLIP, _OBS_CLIP)
        t = np.arange(len(obs), dtype=np.float64).reshape(-1, 1) / 100.0
        return np.concatenate([obs, obs ** 2, t, t ** 2, t ** 3, np.ones_like(t)], axis=1)

    def fit(self, paths: Sequence[Mapping[str, np.ndarray]]) -> None:
        """Fit the coefficients to the paths' returns.

        Args:
            paths: Episodes, each a dict with ``"observations"`` ``(T, ...)`` and
                ``"returns"`` ``(T,)``.

        Raises:
            ConfigError: If ``paths`` is empty, or a path's observations or returns are
                non-finite or of mismatched lengths.
            NumericalError: If the fit is still NaN after 5 retries.
        """
        featmat, target = stack_paths(paths, self._features, np.float64)
        gram = featmat.T @ featmat
        rhs = featmat.T @ target
        reg_coeff = self._reg_coeff
        for _ in range(_MAX_RETRIES):
            coeffs = np.linalg.lstsq(gram + reg_coeff * np.identity(gram.shape[0]), rhs,
                                     rcond=-1)[0]
            if not np.isnan(coeffs).any():
                self._coeffs = coeffs
                return
            reg_coeff *= 10
        # garage kept the NaN coefficients, which silently poisoned every later advantage.
        raise NumericalError(f"{self._name}: the ridge fit is NaN even with reg_coeff="
                             f"{reg_coeff / 10:g}: the features are degenerate; raise reg_coeff.")

    def predict(self, path: Mapping[str, np.ndarray]) -> np.ndarray:
        """Return the predicted returns of one path (zeros before the first fit).

        Args:
            path: A dict with ``"observations"`` ``(T, ...)``.

        Returns:
            A ``(T,)`` float64 array.
        """
        return self._features(path) @ self._coeffs

    def get_param_values(self) -> np.ndarray:
        """Return the coefficients, ``2 * obs_dim + 4`` float64 values (zeros before a fit)."""
        return self._coeffs.copy()

    def set_param_values(self, flat: np.ndarray) -> None:
        """Set the coefficients.

        Args:
            flat: ``2 * obs_dim + 4`` values.

        Raises:
            ConfigError: If ``flat`` has another size.
        """
        flat = np.asarray(flat, dtype=np.float64)
        if flat.shape != self._coeffs.shape:
            raise ConfigError(f"param_values has shape {flat.shape} ({flat.size} values), but "
                              f"{self._name} has {self._coeffs.size} coefficients: pass the "
                              "vector get_param_values() returns.")
        self._coeffs = flat.copy()
