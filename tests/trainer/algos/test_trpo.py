from __future__ import annotations

import numpy as np
import pytest

from tests.trainer.algos.conftest import (
    EVALUATION_KEYS,
    cartpole_parts,
    pendulum_parts,
    policy_keys,
    progress_rows,
)
from trainer.algos import TRPO
from trainer.optimizers import ConjugateGradientOptimizer, PenaltyLBFGSOptimizer


def test_unknown_kl_constraint(tf_trainer):
    """garage's test_trpo_unknown_kl_constraint (spec item 61)."""
    env, policy, baseline, sampler = cartpole_parts()
    with pytest.raises(ValueError, match="Invalid kl_constraint") as err:
        TRPO(env.spec, policy, baseline, sampler, kl_constraint="random")
    assert "'random'" in str(err.value) and "'soft'" in str(err.value)


def test_hard_constraint_keeps_the_kl_under_max_kl_step(tf_trainer):
    env, policy, baseline, sampler = cartpole_parts()
    algo = TRPO(env.spec, policy, baseline, sampler, max_kl_step=0.005)
    assert isinstance(algo._optimizer, ConjugateGradientOptimizer)
    initial = policy.get_param_values()
    tf_trainer.setup(algo, env)
    tf_trainer.train(n_epochs=2, batch_size=400)
    rows = progress_rows(tf_trainer)
    assert EVALUATION_KEYS | policy_keys(policy.name) <= set(rows[1])
    for row in rows:
        assert 0.0 < float(row[f"{policy.name}/KL"]) <= 0.005
        assert float(row[f"{policy.name}/LossAfter"]) < float(row[f"{policy.name}/LossBefore"])
    assert not np.allclose(policy.get_param_values(), initial)


def test_soft_constraint_on_pendulum_with_a_gaussian_policy(tf_trainer):
    env, policy, baseline, sampler = pendulum_parts()
    algo = TRPO(
        env.spec,
        policy,
        baseline,
        sampler,
        kl_constraint="soft",
        optimizer_args={"max_opt_itr": 5, "max_penalty_itr": 3},
    )
    assert isinstance(algo._optimizer, PenaltyLBFGSOptimizer)
    initial = policy.get_param_values()
    tf_trainer.setup(algo, env)
    tf_trainer.train(n_epochs=2, batch_size=400)
    rows = progress_rows(tf_trainer)
    assert EVALUATION_KEYS | policy_keys(policy.name) | {
        "GaussianMLPBaseline/ExplainedVariance"
    } <= set(rows[1])
    assert float(rows[1]["Evaluation/TerminationRate"]) == 0.0  # Pendulum only times out.
    assert not np.allclose(policy.get_param_values(), initial)
