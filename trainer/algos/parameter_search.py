"""The epoch loop shared by CEM and CMA-ES: evaluate candidate parameter vectors, then update."""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from trainer.algos.performance import episode_returns, log_performance, new_reward_history
from trainer.episode_batch import EpisodeBatch
from trainer.errors import ConfigError


class ParameterSearch(abc.ABC):
    """Base of derivative-free algorithms over a policy's flat parameter vector.

    Each epoch's ``sample`` phase evaluates ``n_samples`` candidate vectors, each on at least
    ``batch_size`` environment steps (one ``trainer.obtain_episodes`` call per candidate, as in
    garage); ``optimize`` scores each candidate by the mean undiscounted return of its
    episodes, updates the search distribution and sets the policy to its new estimate, so that
    snapshots and evaluations see the search's current answer rather than the last candidate.

    Args:
        env_spec: Environment spec.
        policy: Policy with ``get_param_values``/``set_param_values``.
        sampler: Sampler that collects episodes (kept as ``_sampler`` for the trainer).
        n_samples: Candidates per epoch (>= 2).
        discount: Discount for ``Evaluation/AverageDiscountedReturn``. Default 0.99.

    Raises:
        ConfigError: If ``n_samples`` < 2 or ``discount`` is outside ``[0, 1]``.
    """

    def __init__(self, env_spec: Any, policy: Any, sampler: Any, n_samples: int,
                 discount: float = 0.99) -> None:
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2:
            raise ConfigError(f"n_samples={n_samples!r} is not valid: it must be an integer "
                              ">= 2 (candidates evaluated per epoch), e.g. n_samples=20.")
        if not 0.0 <= discount <= 1.0:
            raise ConfigError(f"discount={discount!r} is not valid: it must be in [0, 1].")
        self._env_spec = env_spec
        self.policy = policy
        self._sampler = sampler
        self.max_episode_length = getattr(env_spec, "max_episode_length", None)
        self._n_samples = n_samples
        self._discount = float(discount)
        self._episode_reward_mean = new_reward_history()
        self._candidates: np.ndarray | None = None
        self._episodes_per_candidate: list[int] = []

    @abc.abstractmethod
    def _propose(self, epoch: int) -> np.ndarray:
        """Return ``(n_samples, n_params)`` candidate parameter vectors for this epoch."""

    @abc.abstractmethod
    def _update(self, candidates: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        """Update the search from the candidates' scores (higher is better); return metrics."""

    def train(self, trainer: Any) -> float | None:
        """Run the trainer's remaining epochs (``trainer.run_epochs(self)``).

        Args:
            trainer: The trainer this algorithm was set up with.

        Returns:
            The last epoch's average return over all candidates' episodes.
        """
        return trainer.run_epochs(self)

    def sample(self, trainer: Any, epoch: int) -> EpisodeBatch:
        """Evaluate this epoch's candidates; returns all their episodes in candidate order.

        Args:
            trainer: The trainer; its ``batch_size`` is the minimum steps per candidate.
            epoch: The epoch index.
        """
        candidates = self._propose(epoch)
        batches = [trainer.obtain_episodes(trainer.step_itr, agent_update=params)
                   for params in candidates]
        self._candidates = candidates
        self._episodes_per_candidate = [len(batch.lengths) for batch in batches]
        return EpisodeBatch.concatenate(*batches)

    def optimize(self, trainer: Any, epoch: int, episodes: Any) -> dict[str, float]:
        """Score the candidates sampled this epoch and update the search.

        Args:
            trainer: The trainer (unused; part of the algorithm contract).
            epoch: The epoch index.
            episodes: What :meth:`sample` returned.

        Returns:
            garage's ``Evaluation/*`` keys over all candidates' episodes,
            ``Extras/EpisodeRewardMean``, and the algorithm's own metrics.
        """
        del trainer
        if self._candidates is None:
            raise ConfigError(f"{type(self).__name__}.optimize needs the episodes of its own "
                              "sample() phase; let the trainer run both (trainer.train()).")
        metrics = log_performance(epoch, episodes, self._discount,
                                  reward_history=self._episode_reward_mean)
        returns = episode_returns(episodes.rewards, episodes.lengths)
        bounds = np.cumsum([0, *self._episodes_per_candidate])
        scores = np.array([returns[a:b].mean() for a, b in zip(bounds, bounds[1:])])
        metrics.update(self._update(self._candidates, scores))
        metrics[f"{type(self).__name__}/BestCandidateReturn"] = float(scores.max())
        self._candidates = None
        return metrics
