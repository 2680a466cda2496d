"""CMA-ES over a policy's parameters, using the ``cma`` library (Hansen, pycma)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from trainer.algos.parameter_search import ParameterSearch
from trainer.errors import ConfigError
from trainer.seeding import get_seed

_RNG_SALT = 0xC3A  # Seeds the sampling generator (with the global seed).


class _GeneratorNormal:
    """``randn(*shape)`` for pycma drawn from a numpy Generator (picklable, no global state)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def __call__(self, *shape: int) -> np.ndarray:
        return self.rng.standard_normal(shape)


class CMAES(ParameterSearch):
    """Covariance matrix adaptation evolution strategy (Hansen & Ostermeier 2001).

    garage's ``CMAES``: a ``cma.CMAEvolutionStrategy`` (pycma, https://github.com/CMA-ES/pycma)
    starts at the policy's parameters with step size ``sigma0`` and population
    ``n_samples``; each epoch asks for a population, evaluates it, and tells pycma the negated
    returns. The policy then takes the best parameters seen so far (garage's choice). pycma
    draws from a generator owned by this algorithm (seeded from ``trainer.set_seed``) instead
    of re-seeding numpy's global one, and the strategy is pickled with the algorithm.

    Args:
        env_spec, policy, sampler, n_samples, discount: As for
            :class:`~trainer.algos.parameter_search.ParameterSearch`.
        sigma0: Initial step size. Default 1.

    Raises:
        ConfigError: If ``sigma0`` <= 0 or another argument is out of range.
    """

    def __init__(self, env_spec: Any, policy: Any, sampler: Any, n_samples: int,
                 discount: float = 0.99, sigma0: float = 1.0) -> None:
        with warnings.catch_warnings():  # pycma warns that matplotlib (plots) is missing.
            warnings.simplefilter("ignore", UserWarning)
            import cma  # Optional dependency (the ``cmaes`` extra); imported only when used.

        super().__init__(env_spec, policy, sampler, n_samples, discount)
        if not sigma0 > 0:
            raise ConfigError(f"sigma0={sigma0!r} is not valid: it must be > 0 (the initial "
                              "step size), e.g. sigma0=1.0.")
        seed = get_seed()
        self._rng = np.random.default_rng(None if seed is None else [seed, _RNG_SALT])
        self._es = cma.CMAEvolutionStrategy(
            np.asarray(policy.get_param_values(), dtype=np.float64), sigma0,
            {"popsize": n_samples, "randn": _GeneratorNormal(self._rng), "seed": np.nan,
             "verbose": -9, "verb_disp": 0, "verb_log": 0})

    def _propose(self, epoch: int) -> np.ndarray:
        return np.asarray(self._es.ask())

    def _update(self, candidates: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        self._es.tell(list(candidates), list(-scores))
        self.policy.set_param_values(np.asarray(self._es.result.xbest, dtype=np.float32))
        return {"CMAES/Sigma": float(self._es.sigma)}
