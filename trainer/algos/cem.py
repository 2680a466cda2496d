"""CEM: the cross-entropy method over a policy's parameters (Szita & Lorincz 2006)."""

from __future__ import annotations

from typing import Any

import numpy as np

from trainer.algos.parameter_search import ParameterSearch
from trainer.errors import ConfigError
from trainer.seeding import get_seed

_RNG_SALT = 0xCE  # Seeds the candidate generator (with the global seed).


class CEM(ParameterSearch):
    """Cross-entropy method: refit a diagonal Gaussian to the best fraction of candidates.

    garage's ``CEM``: candidates are drawn from ``N(mean, std^2 + extra_std^2 * m)`` where the
    extra exploration noise decays linearly, ``m = max(1 - i / extra_decay_time, 0)``, with
    ``i`` the number of candidates drawn so far. After each epoch the mean and std are the
    sample mean and std of the ``ceil(best_frac * n_samples)`` best candidates, and the policy
    takes the mean. Candidates come from the algorithm's own generator (seeded from
    ``trainer.set_seed``, pickled with it).

    Args:
        env_spec, policy, sampler, n_samples, discount: As for
            :class:`~trainer.algos.parameter_search.ParameterSearch`.
        init_std: Initial standard deviation of every parameter. Default 1.
        best_frac: Fraction of candidates kept as elites, in ``(0, 1]``. Default 0.05.
        extra_std: Standard deviation of the decaying extra noise. Default 1.
        extra_decay_time: Candidates over which the extra noise decays to 0. Default 100.

    Raises:
        ConfigError: If an argument is out of range.
    """

    def __init__(self, env_spec: Any, policy: Any, sampler: Any, n_samples: int,
                 discount: float = 0.99, init_std: float = 1.0, best_frac: float = 0.05,
                 extra_std: float = 1.0, extra_decay_time: float = 100) -> None:
        super().__init__(env_spec, policy, sampler, n_samples, discount)
        if not 0.0 < best_frac <= 1.0:
            raise ConfigError(f"best_frac={best_frac!r} is not valid: it must be in (0, 1], "
                              "the fraction of candidates kept each epoch.")
        for name, value in (("init_std", init_std), ("extra_std", extra_std)):
            if not value >= 0:
                raise ConfigError(f"{name}={value!r} is not valid: it must be >= 0.")
        if not extra_decay_time > 0:
            raise ConfigError(f"extra_decay_time={extra_decay_time!r} is not valid: it must "
                              "be > 0 (number of candidates).")
        self._n_best = int(np.ceil(best_frac * n_samples))
        self._extra_std = float(extra_std)
        self._extra_decay_time = float(extra_decay_time)
        self._cur_mean = np.asarray(policy.get_param_values(), dtype=np.float64)
        self._cur_std = np.full_like(self._cur_mean, float(init_std))
        self._n_drawn = 0
        seed = get_seed()
        self._rng = np.random.default_rng(None if seed is None else [seed, _RNG_SALT])

    def _propose(self, epoch: int) -> np.ndarray:
        candidates = []
        for _ in range(self._n_samples):
            extra_var_mult = max(1.0 - self._n_drawn / self._extra_decay_time, 0.0)
            std = np.sqrt(self._cur_std ** 2 + self._extra_std ** 2 * extra_var_mult)
            candidates.append(self._cur_mean + std * self._rng.standard_normal(len(std)))
            self._n_drawn += 1
        return np.asarray(candidates)

    def _update(self, candidates: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        elites = candidates[np.argsort(-scores)[:self._n_best]]
        self._cur_mean = elites.mean(axis=0)
        self._cur_std = elites.std(axis=0)
        self.policy.set_param_values(self._cur_mean.astype(np.float32))
        return {"CEM/MeanStd": float(self._cur_std.mean())}
