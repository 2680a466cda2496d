from __future__ import annotations

import numpy as np
import pytest

from trainer.algos.advantages import (
    center_advantages,
    discount_cumsum,
    discounted_returns,
    explained_variance,
    gae_advantages,
    pad_episodes,
    shift_advantages_positive,
    valid_mask,
)


def test_discount_cumsum_hand_values():
    # [1 + .5*2 + .25*3, 2 + .5*3, 3]
    np.testing.assert_allclose(discount_cumsum(np.array([1.0, 2.0, 3.0]), 0.5), [2.75, 3.5, 3.0])


def test_pad_episodes_and_mask():
    flat = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    padded = pad_episodes(flat, np.array([2, 3]))
    np.testing.assert_array_equal(padded, [[1, 2, 0], [3, 4, 5]])
    np.testing.assert_array_equal(valid_mask(np.array([2, 3]), 4),
                                  [[1, 1, 0, 0], [1, 1, 1, 0]])
    obs = pad_episodes(np.arange(10.0).reshape(5, 2), np.array([1, 4]), max_length=4)
    assert obs.shape == (2, 4, 2)
    np.testing.assert_array_equal(obs[0, 1:], 0)
    np.testing.assert_array_equal(obs[1, :, 0], [2, 4, 6, 8])


def test_discounted_returns_bootstrap_only_where_given():
    rewards = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    valids = valid_mask(np.array([2, 1]), 3)
    returns = discounted_returns(rewards, valids, 0.5, last_values=np.array([10.0, 0.0]))
    # Episode 0 was cut by a time limit: R1 = 1 + .5*10 = 6, R0 = 1 + .5*6 = 4.
    # Episode 1 terminated: R0 = 1.
    np.testing.assert_allclose(returns, [[4.0, 6.0, 0.0], [1.0, 0.0, 0.0]])
    plain = discounted_returns(rewards, valids, 0.5)
    np.testing.assert_allclose(plain, [[1.5, 1.0, 0.0], [1.0, 0.0, 0.0]])


def test_gae_hand_values():
    rewards = np.array([[1.0, 1.0]])
    values = np.array([[0.5, 0.2]])
    valids = np.ones((1, 2), dtype=bool)
    adv = gae_advantages(rewards, values, valids, 0.5, 0.5, last_values=np.array([2.0]))
    # delta1 = 1 + .5*2 - .2 = 1.8; delta0 = 1 + .5*.2 - .5 = .6; A0 = .6 + .25*1.8 = 1.05
    np.testing.assert_allclose(adv, [[1.05, 1.8]])


def test_gae_ignores_padding_and_matches_returns_minus_values_at_lambda_one():
    rng = np.random.default_rng(0)
    lengths = np.array([3, 5, 1])
    valids = valid_mask(lengths)
    rewards = rng.normal(size=valids.shape) * valids
    values = rng.normal(size=valids.shape) * valids
    last = np.array([0.0, 3.0, -1.0])
    adv = gae_advantages(rewards, values, valids, 0.9, 1.0, last_values=last)
    returns = discounted_returns(rewards, valids, 0.9, last_values=last)
    np.testing.assert_allclose(adv, (returns - values) * valids, atol=1e-12)
    # Garbage in the padding must not leak into the advantages.
    noisy = np.where(valids, rewards, 99.0)
    np.testing.assert_allclose(
        gae_advantages(noisy, np.where(valids, values, -7.0), valids, 0.9, 0.95, last),
        gae_advantages(rewards, values, valids, 0.9, 0.95, last))


def test_gae_lambda_zero_is_one_step_td_error():
    rewards = np.array([[1.0, 2.0, 3.0]])
    values = np.array([[0.1, 0.2, 0.3]])
    adv = gae_advantages(rewards, values, np.ones((1, 3), bool), 0.9, 0.0)
    np.testing.assert_allclose(adv, [[1 + 0.9 * 0.2 - 0.1, 2 + 0.9 * 0.3 - 0.2, 3 - 0.3]])


def test_center_and_positive_advantages():
    adv = np.array([1.0, 2.0, 3.0, 6.0])
    centered = center_advantages(adv)
    assert centered.mean() == pytest.approx(0.0, abs=1e-12)
    assert centered.std() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(shift_advantages_positive(adv), [1e-8, 1 + 1e-8, 2 + 1e-8, 5 + 1e-8])


def test_explained_variance():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(y, y) == pytest.approx(1.0)
    assert explained_variance(np.full(4, y.mean()), y) == pytest.approx(0.0, abs=1e-7)
    # Var[y - pred] = Var[[0, 0, 0, 4]] = 3, Var[y] = 1.25: 1 - 3/1.25 = -1.4
    assert explained_variance(np.array([1.0, 2.0, 3.0, 0.0]), y) == pytest.approx(-1.4)
    assert explained_variance(np.ones(3), np.ones(3)) == 1.0
    assert explained_variance(np.array([0.0, 1.0, 2.0]), np.ones(3)) == 0.0
