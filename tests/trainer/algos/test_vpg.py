from __future__ import annotations

import numpy as np
import pytest

from tests.trainer.algos.conftest import (
    EVALUATION_KEYS,
    cartpole_parts,
    policy_keys,
    progress_rows,
)
from trainer.algos import VPG
from trainer.optimizers import FirstOrderOptimizer


def test_two_epochs_on_cartpole_log_garage_keys_and_change_the_policy(tf_trainer):
    env, policy, baseline, sampler = cartpole_parts()
    algo = VPG(env.spec, policy, baseline, sampler, optimizer_args={"learning_rate": 0.01})
    initial = policy.get_param_values()
    tf_trainer.setup(algo, env)
    last = tf_trainer.train(n_epochs=2, batch_size=300)
    rows = progress_rows(tf_trainer)
    assert len(rows) == 2
    keys = EVALUATION_KEYS | policy_keys(policy.name) | {"LinearFeatureBaseline/ExplainedVariance"}
    assert keys <= set(rows[1])
    assert last == pytest.approx(float(rows[1]["Evaluation/AverageReturn"]))
    assert not np.allclose(policy.get_param_values(), initial)
    # One full-batch step per epoch: the loss must drop on the batch it was computed on.
    assert float(rows[1][f"{policy.name}/LossAfter"]) < float(rows[1][f"{policy.name}/LossBefore"])


def test_default_optimizer_is_one_full_batch_adam_step(tf_trainer):
    env, policy, baseline, sampler = cartpole_parts()
    algo = VPG(env.spec, policy, baseline, sampler, optimizer_args={"learning_rate": 0.05})
    assert isinstance(algo._optimizer, FirstOrderOptimizer)
    assert algo._optimizer._batch_size is None
    assert algo._optimizer._max_optimization_epochs == 1
    assert algo._optimizer._learning_rate == {"learning_rate": 0.05}


@pytest.mark.slow
def test_vpg_cartpole_reaches_90_in_10_epochs_of_10000_steps(tf_trainer):
    """garage's test_vpg_cartpole (spec item 59)."""
    env, policy, baseline, sampler = cartpole_parts(hidden_sizes=(32, 32))
    algo = VPG(
        env.spec, policy, baseline, sampler, discount=0.99, optimizer_args={"learning_rate": 0.01}
    )
    tf_trainer.setup(algo, env)
    assert tf_trainer.train(n_epochs=10, batch_size=10000) > 90
