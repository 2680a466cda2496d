from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from tests.trainer.baselines.conftest import episodes, explained_variance
from trainer.baselines import GaussianMLPBaseline
from trainer.envs import EnvSpec
from trainer.errors import ConfigError, NoDefaultSessionError


def _pendulum_paths(n: int = 8) -> list[dict]:
    """Real Pendulum observations with a smooth nonlinear target of them."""
    paths = episodes("Pendulum-v1", n)
    for path in paths:
        cos, sin, speed = path["observations"].T
        path["returns"] = np.sin(2 * cos) + speed**2 / 4 + 3 * sin
    return paths


def _spec(env_id: str) -> EnvSpec:
    env = gym.make(env_id)
    return EnvSpec(env.observation_space, env.action_space)


def _ev(baseline, paths) -> float:
    predicted = np.concatenate([baseline.predict(p) for p in paths])
    return explained_variance(predicted, np.concatenate([p["returns"] for p in paths]))


def test_fits_a_smooth_function_of_the_observations(sess):
    paths = _pendulum_paths()
    baseline = GaussianMLPBaseline(_spec("Pendulum-v1"))
    loss_before = baseline.loss(paths)

    baseline.fit(paths)

    assert _ev(baseline, paths) > 0.9
    assert baseline.loss(paths) < loss_before
    # Predictions come back in the returns' units, not the normalised ones.
    predicted = baseline.predict(paths[0])
    assert predicted.shape == (len(paths[0]["returns"]),)
    assert abs(predicted.mean() - paths[0]["returns"].mean()) < 0.5


def test_pickle_restores_predictions_and_optimizer_state(sess):
    paths = _pendulum_paths(4)
    baseline = GaussianMLPBaseline(_spec("Pendulum-v1"), hidden_sizes=(16,))
    baseline.fit(paths)
    state = baseline._optimizer.get_state()
    blob = pickle.dumps(baseline)

    with tf.compat.v1.Session(graph=tf.Graph()):
        restored = pickle.loads(blob)

        np.testing.assert_array_equal(restored.predict(paths[1]), baseline.predict(paths[1]))
        np.testing.assert_array_equal(restored.get_param_values(), baseline.get_param_values())
        restored_state = restored._optimizer.get_state()
        assert len(restored_state) == len(state) > 0
        for got, want in zip(restored_state, state):
            np.testing.assert_array_equal(got, want)
        # Continuing to fit from the restored state equals continuing the original.
        restored.fit(paths)
        continued = restored.get_param_values()
    baseline.fit(paths)
    np.testing.assert_allclose(continued, baseline.get_param_values(), atol=1e-6)


def test_trust_region_limits_the_change_of_a_fit(sess):
    paths = _pendulum_paths(4)
    free = GaussianMLPBaseline(_spec("Pendulum-v1"), name="free")
    limited = GaussianMLPBaseline(
        _spec("Pendulum-v1"), use_trust_region=True, max_kl_step=0.01, name="limited"
    )
    limited.set_param_values(free.get_param_values())
    start = limited.loss(paths)

    free.fit(paths)
    limited.fit(paths)

    assert limited.loss(paths) < start
    assert free.loss(paths) < limited.loss(paths)


def test_discrete_observations_are_one_hot(sess):
    spec = _spec("FrozenLake-v1")
    states = np.tile(np.arange(16), 8)
    path = {"observations": states, "returns": (states % 4).astype(float)}
    baseline = GaussianMLPBaseline(spec, optimizer_args={"max_optimization_epochs": 60})

    baseline.fit([path])

    assert _ev(baseline, [path]) > 0.9


def test_bad_arguments_are_refused(sess):
    spec = _spec("Pendulum-v1")
    with pytest.raises(ConfigError, match="optimizer_args.*FirstOrderOptimizer"):
        GaussianMLPBaseline(spec, optimizer_args={"lr": 1e-3})
    with pytest.raises(ConfigError, match="init_std=0"):
        GaussianMLPBaseline(spec, init_std=0)
    baseline = GaussianMLPBaseline(spec)
    with pytest.raises(ConfigError, match=r"paths\[0\] has 3 observations but 2 returns"):
        baseline.fit([{"observations": np.zeros((3, 3)), "returns": np.zeros(2)}])


def test_building_outside_a_session_is_a_clear_error():
    with pytest.raises(NoDefaultSessionError, match="GaussianMLPBaseline.*TFTrainer"):
        GaussianMLPBaseline(_spec("Pendulum-v1"))
