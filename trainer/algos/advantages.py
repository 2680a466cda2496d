"""Returns, advantages and value diagnostics: pure numpy functions shared by the algorithms.

Shapes use garage's notation: ``N`` episodes, ``T`` steps of the longest episode, ``N•T`` the
valid steps of all episodes concatenated in episode order.
"""

from __future__ import annotations

import numpy as np


def discount_cumsum(x: np.ndarray, discount: float) -> np.ndarray:
    """Discounted cumulative sums ``y[t] = sum_k discount**k * x[t + k]`` of a 1-D array.

    Args:
        x: Values of one episode, shape ``(T,)``.
        discount: Discount factor ``gamma`` in ``[0, 1]``.

    Returns:
        Array of shape ``(T,)`` and dtype float64.
    """
    out = np.zeros(len(x), dtype=np.float64)
    running = 0.0
    for t in range(len(x) - 1, -1, -1):
        running = float(x[t]) + discount * running
        out[t] = running
    return out


def pad_episodes(
    flat: np.ndarray, lengths: np.ndarray, max_length: int | None = None
) -> np.ndarray:
    """Split a ``(N•T, ...)`` array by episode and zero-pad it to ``(N, T, ...)``.

    Args:
        flat: Steps of all episodes, concatenated in episode order.
        lengths: Length of each episode, shape ``(N,)``.
        max_length: ``T``; defaults to ``max(lengths)``.

    Returns:
        The padded array; entries after an episode's length are zero.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    width = int(lengths.max(initial=0)) if max_length is None else int(max_length)
    padded = np.zeros((len(lengths), width) + flat.shape[1:], dtype=flat.dtype)
    padded[valid_mask(lengths, width)] = flat
    return padded


def valid_mask(lengths: np.ndarray, max_length: int | None = None) -> np.ndarray:
    """Boolean ``(N, T)`` mask that is True on the real steps of each episode.

    Args:
        lengths: Length of each episode, shape ``(N,)``.
        max_length: ``T``; defaults to ``max(lengths)``.

    Returns:
        The mask; ``mask[valid_mask(...)]`` selects steps in ``N•T`` order.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    width = int(lengths.max(initial=0)) if max_length is None else int(max_length)
    return np.arange(width)[None, :] < lengths[:, None]


def discounted_returns(
    rewards: np.ndarray, valids: np.ndarray, discount: float, last_values: np.ndarray | None = None
) -> np.ndarray:
    """Discounted returns of padded episodes, optionally bootstrapped after the last step.

    ``R[t] = r[t] + discount * R[t + 1]`` with ``R[length] = last_values``. Pass the value
    estimate of the final observation for episodes cut by a time limit and 0 for episodes that
    terminated; garage always used 0, which under-estimates returns near a time limit.

    Args:
        rewards: Padded rewards, shape ``(N, T)``.
        valids: Mask of real steps, shape ``(N, T)``.
        discount: Discount factor ``gamma``.
        last_values: Value after each episode's last step, shape ``(N,)``. Default: zeros.

    Returns:
        Padded returns, shape ``(N, T)``, zero on padding.
    """
    n, width = rewards.shape
    tail = np.zeros(n) if last_values is None else np.asarray(last_values, dtype=np.float64)
    returns = np.zeros((n, width), dtype=np.float64)
    carry = tail.copy()
    for t in range(width - 1, -1, -1):
        carry = np.where(valids[:, t], rewards[:, t] + discount * carry, tail)
        returns[:, t] = np.where(valids[:, t], carry, 0.0)
    return returns


def gae_advantages(
    rewards: np.ndarray,
    values: np.ndarray,
    valids: np.ndarray,
    discount: float,
    gae_lambda: float,
    last_values: np.ndarray | None = None,
) -> np.ndarray:
    """Generalized advantage estimates (Schulman et al. 2016, arXiv:1506.02438) of padded episodes.

    ``delta[t] = r[t] + discount * V[t + 1] - V[t]`` and
    ``A[t] = delta[t] + discount * gae_lambda * A[t + 1]``, where ``V[length] = last_values``
    and ``A[length] = 0``.

    Args:
        rewards: Padded rewards, shape ``(N, T)``.
        values: Padded value estimates ``V(s_t)``, shape ``(N, T)``.
        valids: Mask of real steps, shape ``(N, T)``.
        discount: Discount factor ``gamma``.
        gae_lambda: GAE's ``lambda``; 1 gives returns minus values, 0 gives one-step TD errors.
        last_values: Value after each episode's last step (0 if it terminated), shape ``(N,)``.
            Default: zeros.

    Returns:
        Padded advantages, shape ``(N, T)``, zero on padding.
    """
    n, width = rewards.shape
    tail = np.zeros(n) if last_values is None else np.asarray(last_values, dtype=np.float64)
    advantages = np.zeros((n, width), dtype=np.float64)
    next_value = tail.copy()
    next_adv = np.zeros(n)
    for t in range(width - 1, -1, -1):
        valid = valids[:, t]
        delta = rewards[:, t] + discount * next_value - values[:, t]
        next_adv = np.where(valid, delta + discount * gae_lambda * next_adv, 0.0)
        advantages[:, t] = next_adv
        next_value = np.where(valid, values[:, t], tail)
    return advantages


def center_advantages(advantages: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Shift advantages to mean 0 and scale them to standard deviation 1.

    Args:
        advantages: Flat advantages, shape ``(N•T,)``.
        eps: Added to the standard deviation to avoid dividing by zero. Default 1e-8.

    Returns:
        The normalised advantages.
    """
    return (advantages - advantages.mean()) / (advantages.std() + eps)


def shift_advantages_positive(advantages: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Shift advantages so that the smallest one is ``eps`` (garage's ``positive_adv``).

    Args:
        advantages: Flat advantages, shape ``(N•T,)``.
        eps: The value of the smallest advantage afterwards. Default 1e-8.

    Returns:
        The shifted advantages.
    """
    return advantages - advantages.min() + eps


def explained_variance(y_pred: np.ndarray, y: np.ndarray) -> float:
    """Fraction of the variance of ``y`` that ``y_pred`` explains: ``1 - Var[y - y_pred] / Var[y]``.

    1 is a perfect prediction, 0 is as good as predicting the mean, negative is worse. When
    ``y`` is constant it is 1 if ``y_pred`` is constant too and 0 otherwise (garage's rule).

    Args:
        y_pred: Predictions, shape ``(N•T,)``.
        y: Targets, shape ``(N•T,)``.

    Returns:
        The explained variance.
    """
    var_y = float(np.var(y))
    if np.isclose(var_y, 0.0):
        return 0.0 if float(np.var(y_pred)) > 0 else 1.0
    return float(1.0 - np.var(y - y_pred) / (var_y + 1e-8))
