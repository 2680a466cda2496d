"""Turn an epoch's episodes into flat training arrays: observations, actions, advantages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from trainer.algos.advantages import (
    center_advantages,
    discounted_returns,
    gae_advantages,
    pad_episodes,
    shift_advantages_positive,
    valid_mask,
)
from trainer.episode_batch import StepType
from trainer.policies.spaces import ObservationFlattener


@dataclass
class ProcessedEpisodes:
    """Flat per-step arrays of an epoch, in episode order (``N•T`` rows).

    Attributes:
        observations: Flattened observations, ``(N•T, obs_dim)`` float32.
        actions: Actions as the policy's distribution reads them: 0-based int32 indices
            ``(N•T,)`` for Discrete spaces, float32 ``(N•T, A)`` otherwise.
        advantages: Advantages after optional centring/shifting, ``(N•T,)`` float32.
        returns: Discounted returns, bootstrapped after time-limit cuts, ``(N•T,)``.
        baselines: The baseline's predictions before this epoch's fit, ``(N•T,)``.
        lengths: Episode lengths, ``(N,)``.
        paths: One dict per episode with ``observations`` and ``returns`` for ``baseline.fit``.
    """

    observations: np.ndarray
    actions: np.ndarray
    advantages: np.ndarray
    returns: np.ndarray
    baselines: np.ndarray
    lengths: np.ndarray
    paths: list[dict[str, np.ndarray]]


def flatten_actions(space: gym.Space, actions: np.ndarray) -> np.ndarray:
    """Return actions in the form the policies' distributions take.

    Args:
        space: The action space.
        actions: ``(N•T, ...)`` actions as the sampler stored them.

    Returns:
        0-based int32 indices for ``Discrete`` (``Categorical.log_prob`` one-hots them),
        otherwise a float32 ``(N•T, flat_dim)`` array.
    """
    if isinstance(space, gym.spaces.Discrete):
        return (np.asarray(actions).reshape(-1) - int(space.start)).astype(np.int32)
    return np.asarray(actions, dtype=np.float32).reshape(len(actions), -1)


def predict_values(baseline: Any, observations: np.ndarray, last_observations: np.ndarray,
                   lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ask the baseline for ``V(s_t)`` of every step and of each episode's last observation.

    Each episode is predicted as one path of ``T + 1`` observations (its steps plus the
    observation after the last step), so time-dependent baselines such as
    ``LinearFeatureBaseline`` see the right time index for the bootstrap value too.

    Args:
        baseline: Has ``predict(path: dict) -> ndarray``.
        observations: Flat observations, ``(N•T, obs_dim)``.
        last_observations: Flat observations after each episode, ``(N, obs_dim)``.
        lengths: Episode lengths, ``(N,)``.

    Returns:
        ``(values (N•T,), last_values (N,))``.
    """
    values, last_values = [], np.zeros(len(lengths))
    start = 0
    for i, length in enumerate(lengths):
        path_obs = np.concatenate([observations[start:start + length], last_observations[i:i + 1]])
        prediction = np.asarray(baseline.predict({"observations": path_obs}), dtype=np.float64)
        values.append(prediction.reshape(-1)[:length])
        last_values[i] = prediction.reshape(-1)[length]
        start += length
    return np.concatenate(values), last_values


def process_episodes(
    episodes: Any,
    obs_flattener: ObservationFlattener,
    action_space: gym.Space,
    baseline: Any,
    discount: float,
    gae_lambda: float,
    center_adv: bool = True,
    positive_adv: bool = False,
    reward_bonus: np.ndarray | None = None,
) -> ProcessedEpisodes:
    """Compute GAE advantages and discounted returns of an epoch's episodes.

    Episodes that end in ``StepType.TIMEOUT`` (cut by a time limit, not finished) are
    bootstrapped with the baseline's value of their last observation; terminated ones with 0.
    garage bootstrapped neither, which biases values and advantages near a time limit.

    Args:
        episodes: An :class:`~trainer.episode_batch.EpisodeBatch`.
        obs_flattener: Flattens observations as the policy does.
        action_space: The environment's action space.
        baseline: Value estimator with ``predict(path)``.
        discount: Discount factor ``gamma``.
        gae_lambda: GAE ``lambda``.
        center_adv: Normalise advantages to mean 0, std 1. Default ``True``.
        positive_adv: Shift advantages to be positive (after centring). Default ``False``.
        reward_bonus: Added to the rewards before anything else (maximum-entropy RL),
            ``(N•T,)``. Default ``None``.

    Returns:
        The processed arrays.
    """
    lengths = np.asarray(episodes.lengths, dtype=np.int64)
    observations = obs_flattener.flatten_n(episodes.observations)
    last_observations = obs_flattener.flatten_n(episodes.last_observations)
    rewards = np.asarray(episodes.rewards, dtype=np.float64)
    if reward_bonus is not None:
        rewards = rewards + reward_bonus
    ends = np.cumsum(lengths) - 1
    timed_out = np.asarray(episodes.step_types)[ends] == StepType.TIMEOUT

    values, last_values = predict_values(baseline, observations, last_observations, lengths)
    last_values = np.where(timed_out, last_values, 0.0)
    valids = valid_mask(lengths)
    padded_rewards = pad_episodes(rewards, lengths)
    advantages = gae_advantages(padded_rewards, pad_episodes(values, lengths), valids,
                                discount, gae_lambda, last_values)[valids]
    returns = discounted_returns(padded_rewards, valids, discount, last_values)[valids]
    if center_adv:
        advantages = center_advantages(advantages)
    if positive_adv:
        advantages = shift_advantages_positive(advantages)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    paths = [{"observations": observations[a:b], "returns": returns[a:b]}
             for a, b in zip(starts, starts[1:])]
    return ProcessedEpisodes(
        observations=observations,
        actions=flatten_actions(action_space, episodes.actions),
        advantages=advantages.astype(np.float32),
        returns=returns,
        baselines=values,
        lengths=lengths,
        paths=paths,
    )
