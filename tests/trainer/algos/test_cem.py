from __future__ import annotations

import numpy as np
import pytest

from tests.trainer.algos.conftest import EVALUATION_KEYS, progress_rows
from trainer import GymEnv
from trainer.algos import CEM
from trainer.errors import ConfigError
from trainer.policies import CategoricalMLPPolicy
from trainer.samplers import LocalSampler


def _cem(**kwargs):
    env = GymEnv("CartPole-v1")
    policy = CategoricalMLPPolicy(env.spec, hidden_sizes=(8,))
    sampler = LocalSampler(agents=policy, envs=env, max_episode_length=500)
    return env, policy, CEM(env.spec, policy, sampler, **kwargs)


def test_two_epochs_move_the_policy_to_the_elite_mean(tf_trainer):
    env, policy, algo = _cem(n_samples=5, best_frac=0.4)
    initial = policy.get_param_values()
    tf_trainer.setup(algo, env)
    tf_trainer.train(n_epochs=2, batch_size=100)
    rows = progress_rows(tf_trainer)
    assert len(rows) == 2
    assert EVALUATION_KEYS | {"CEM/MeanStd", "CEM/BestCandidateReturn"} <= set(rows[0])
    # Every candidate gets at least batch_size steps.
    assert int(rows[0]["TotalEnvSteps"]) >= 5 * 100
    final = policy.get_param_values()
    assert not np.allclose(final, initial)
    np.testing.assert_allclose(final, algo._cur_mean.astype(np.float32))
    # The best of the 5 candidates is at least their average.
    assert float(rows[1]["CEM/BestCandidateReturn"]) >= float(rows[1]["Evaluation/MinReturn"])


def test_elites_are_the_best_scoring_candidates(tf_trainer):
    _, policy, algo = _cem(n_samples=4, best_frac=0.5)
    candidates = np.arange(4 * policy.get_param_values().size, dtype=np.float64).reshape(4, -1)
    algo._update(candidates, np.array([1.0, 5.0, 3.0, 0.0]))
    np.testing.assert_allclose(algo._cur_mean, candidates[[1, 2]].mean(axis=0))
    np.testing.assert_allclose(algo._cur_std, candidates[[1, 2]].std(axis=0))
    np.testing.assert_allclose(policy.get_param_values(), candidates[[1, 2]].mean(axis=0))


def test_extra_noise_decays_with_candidates_drawn(tf_trainer):
    _, policy, algo = _cem(n_samples=2, init_std=0.0, extra_std=1.0, extra_decay_time=4)
    first = algo._propose(0)
    later = algo._propose(1)  # candidates 2 and 3: multipliers 0.5 and 0.25
    assert np.std(first - algo._cur_mean) > 0.7
    assert np.std(later[1] - algo._cur_mean) == pytest.approx(0.5, rel=0.1)
    assert np.allclose(algo._propose(2), algo._cur_mean)  # fully decayed, init_std 0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_samples": 1}, "n_samples=1"),
    ({"n_samples": 4, "best_frac": 0.0}, "best_frac=0.0"),
    ({"n_samples": 4, "init_std": -1.0}, "init_std=-1.0"),
    ({"n_samples": 4, "extra_decay_time": 0}, "extra_decay_time=0"),
])
def test_invalid_arguments_raise_config_error(tf_trainer, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        _cem(**kwargs)
