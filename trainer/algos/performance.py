"""Per-epoch episode statistics with garage's tabular keys (``Evaluation/*``)."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from trainer.algos.advantages import discount_cumsum
from trainer.episode_batch import StepType

EPISODE_REWARD_WINDOW = 100  # garage's deque length for Extras/EpisodeRewardMean.


def new_reward_history() -> deque[float]:
    """Return the deque of recent episode returns behind ``Extras/EpisodeRewardMean``.

    Algorithms keep it as an attribute so it is pickled with them and a resumed run keeps
    averaging over the same window (garage pickled it too).
    """
    return deque(maxlen=EPISODE_REWARD_WINDOW)


def episode_returns(rewards: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Undiscounted return of each episode.

    Args:
        rewards: Rewards of all episodes concatenated, shape ``(N•T,)``.
        lengths: Length of each episode, shape ``(N,)``.

    Returns:
        Array of shape ``(N,)``.
    """
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    if len(lengths) == 0:
        return np.zeros(0)
    return np.add.reduceat(np.asarray(rewards, dtype=np.float64), starts)


def log_performance(
    itr: int,
    episodes: Any,
    discount: float,
    prefix: str = "Evaluation",
    reward_history: deque[float] | None = None,
) -> dict[str, float]:
    """Summarise an epoch's episodes as garage's ``log_performance`` did.

    Args:
        itr: The iteration number, recorded as ``<prefix>/Iteration``.
        episodes: An :class:`~trainer.episode_batch.EpisodeBatch` (its ``rewards``, ``lengths``,
            ``step_types`` and ``env_infos`` are read).
        discount: Discount factor for ``AverageDiscountedReturn``.
        prefix: Key prefix. Default ``"Evaluation"``.
        reward_history: If given, the episodes' returns are appended to it and the mean of the
            deque is reported as ``Extras/EpisodeRewardMean``.

    Returns:
        ``<prefix>/Iteration, NumEpisodes, AverageDiscountedReturn, AverageReturn, StdReturn,
        MaxReturn, MinReturn, TerminationRate`` and, when the env reports ``success``,
        ``SuccessRate`` (fraction of episodes with any success step).
    """
    lengths = np.asarray(episodes.lengths, dtype=np.int64)
    rewards = np.asarray(episodes.rewards, dtype=np.float64)
    step_types = np.asarray(episodes.step_types)
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    returns = episode_returns(rewards, lengths)
    discounted = [discount_cumsum(rewards[a:b], discount)[0] for a, b in zip(starts, starts[1:])]
    terminated = [float(np.any(step_types[a:b] == StepType.TERMINAL))
                  for a, b in zip(starts, starts[1:])]
    stats = {
        "Iteration": float(itr),
        "NumEpisodes": float(len(lengths)),
        "AverageDiscountedReturn": float(np.mean(discounted)),
        "AverageReturn": float(np.mean(returns)),
        "StdReturn": float(np.std(returns)),
        "MaxReturn": float(np.max(returns)),
        "MinReturn": float(np.min(returns)),
        "TerminationRate": float(np.mean(terminated)),
    }
    env_infos = getattr(episodes, "env_infos", None) or {}
    if "success" in env_infos:
        success = np.asarray(env_infos["success"])
        stats["SuccessRate"] = float(np.mean(
            [np.any(success[a:b]) for a, b in zip(starts, starts[1:])]))
    row = {f"{prefix}/{key}": value for key, value in stats.items()}
    if reward_history is not None:
        reward_history.extend(returns.tolist())
        row["Extras/EpisodeRewardMean"] = float(np.mean(reward_history))
    return row
