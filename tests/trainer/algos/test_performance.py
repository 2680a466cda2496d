from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest

from trainer.algos.performance import episode_returns, log_performance, new_reward_history
from trainer.envs import EnvSpec
from trainer.episode_batch import EpisodeBatch, StepType

# garage's tests/garage/test_functions.py::test_log_performance data and expected values.
LENGTHS = np.array([10, 5, 1, 1])
REWARDS = np.array([
    0.34026529, 0.58263177, 0.84307509, 0.97651095, 0.81723901, 0.22631398, 0.03421301,
    0.97515046, 0.64311832, 0.65068933, 0.17657714, 0.04783857, 0.73904013, 0.41364329,
    0.52235551, 0.24203526, 0.43328910])


def _batch(success: np.ndarray | None = None) -> EpisodeBatch:
    step_types = np.array(
        [StepType.FIRST] + [StepType.MID] * 8 + [StepType.TERMINAL]
        + [StepType.FIRST] + [StepType.MID] * 3 + [StepType.TERMINAL]
        + [StepType.FIRST] + [StepType.FIRST], dtype=StepType)
    spec = EnvSpec(gym.spaces.Box(0.0, 1.0, (3,)), gym.spaces.Box(-1.0, 0.0, (2,)))
    env_infos = {} if success is None else {"success": success}
    return EpisodeBatch(spec, {}, np.ones((17, 3), np.float32), np.ones((4, 3), np.float32),
                        np.zeros((17, 2), np.float32), REWARDS, env_infos, {}, step_types,
                        LENGTHS)


def test_matches_garage_log_performance():
    success = np.zeros(17, dtype=bool)
    success[[1, 12, 16]] = True  # episodes 0, 1 and 3 succeed
    row = log_performance(7, _batch(success), 0.8, prefix="test_log_performance")
    p = "test_log_performance/"
    assert row[p + "Iteration"] == 7
    assert row[p + "NumEpisodes"] == 4
    assert row[p + "AverageDiscountedReturn"] == pytest.approx(1.1131040640673113)
    assert row[p + "AverageReturn"] == pytest.approx(2.1659965525)
    assert row[p + "StdReturn"] == pytest.approx(2.354067152038576)
    assert row[p + "TerminationRate"] == 0.5
    assert row[p + "SuccessRate"] == 0.75
    assert row[p + "MaxReturn"] == pytest.approx(REWARDS[:10].sum())
    assert row[p + "MinReturn"] == pytest.approx(REWARDS[15])
    assert "Extras/EpisodeRewardMean" not in row


def test_success_rate_only_when_env_reports_success():
    row = log_performance(0, _batch(), 0.99)
    assert "Evaluation/SuccessRate" not in row
    assert row["Evaluation/NumEpisodes"] == 4


def test_episode_reward_mean_uses_a_pickled_window_of_100():
    history = new_reward_history()
    history.extend([0.0] * 98)
    row = log_performance(0, _batch(), 0.99, reward_history=history)
    returns = episode_returns(REWARDS, LENGTHS)
    # 98 zeros + 4 new returns, of which only the last 100 values are kept.
    assert len(history) == 100
    assert row["Extras/EpisodeRewardMean"] == pytest.approx(returns.sum() / 100)
    restored = pickle.loads(pickle.dumps(history))
    assert restored.maxlen == 100 and list(restored) == list(history)


def test_episode_returns():
    np.testing.assert_allclose(episode_returns(np.array([1.0, 2.0, 3.0, 4.0]), np.array([3, 1])),
                               [6.0, 4.0])
