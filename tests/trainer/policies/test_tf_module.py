"""Pickling and the numpy copy: the lifecycle TFModule gives every policy and baseline."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
import tensorflow as tf

from tests.trainer.policies.conftest import env_spec, graph_dist_info, observations
from trainer.errors import NoDefaultSessionError
from trainer.policies import CategoricalMLPPolicy, GaussianMLPPolicy

REPO = Path(__file__).resolve().parents[3]

CASES = [
    (CategoricalMLPPolicy, "CartPole-v1", {"hidden_sizes": (8, 8)}),
    (GaussianMLPPolicy, "Pendulum-v1", {"adaptive_std": True}),
]

CHILD = textwrap.dedent("""
    import os, sys
    os.environ["TF_NUM_INTRAOP_THREADS"] = "1"
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    import cloudpickle, numpy as np, tensorflow as tf
    from trainer.errors import NoDefaultSessionError

    blob_path, obs_path, out_path = sys.argv[1:]
    obs = np.load(obs_path)
    blob = open(blob_path, "rb").read()
    out = {}
    # Without a session: the numpy copy samples; TF uses are a clear error.
    detached = cloudpickle.loads(blob)
    out["detached_actions"], infos = detached.get_actions(obs)
    try:
        detached.get_trainable_vars()
        out["detached_error"] = np.array(False)
    except NoDefaultSessionError:
        out["detached_error"] = np.array(True)
    # In a fresh graph and session, as Trainer.restore does.
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        policy = cloudpickle.loads(blob)
        actions, infos = policy.get_actions(obs)
        out["actions"] = actions
        out.update({"info_" + k: v for k, v in infos.items()})
        obs_ph = tf.compat.v1.placeholder(tf.float32, (None, policy.obs_dim))
        graph = sess.run(policy.build(obs_ph).dist_info, {obs_ph: obs})
        out.update({"graph_" + k: v for k, v in graph.items()})
        out["params"] = policy.get_param_values()
    np.savez(out_path, **out)
""")


@pytest.mark.parametrize(("cls", "env_id", "kwargs"), CASES)
def test_pickle_in_a_fresh_process_gives_identical_distributions_and_actions(
    sess, tmp_path, cls, env_id, kwargs
):
    policy = cls(env_spec(env_id), **kwargs)
    values = policy.get_param_values()
    values[-1] = 1.0  # garage's test: set a bias to ones before pickling
    policy.set_param_values(values)
    obs = observations(env_id, 16).astype(np.float32)
    policy.get_actions(obs)  # advance the generator: its state, not the seed, must travel
    (tmp_path / "policy.pkl").write_bytes(cloudpickle.dumps(policy))
    np.save(tmp_path / "obs.npy", obs)
    expected_actions, expected_infos = policy.get_actions(obs)

    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(tmp_path / "policy.pkl"),
            str(tmp_path / "obs.npy"),
            str(tmp_path / "out.npz"),
        ],
        check=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    out = np.load(tmp_path / "out.npz")

    np.testing.assert_array_equal(out["params"], policy.get_param_values())
    np.testing.assert_array_equal(out["actions"], expected_actions)
    np.testing.assert_array_equal(out["detached_actions"], expected_actions)
    assert bool(out["detached_error"])
    for key, value in expected_infos.items():
        np.testing.assert_array_equal(out["info_" + key], value)
        np.testing.assert_allclose(out["graph_" + key], value, atol=1e-5)


def test_unpickling_into_a_graph_that_has_the_same_names(sess):
    # garage #1787: "Variable ... already exists" when the graph holds the original.
    policy = CategoricalMLPPolicy(env_spec("CartPole-v1"))
    obs = observations("CartPole-v1", 8)

    copy = pickle.loads(pickle.dumps(policy))

    assert copy.scope_name != policy.scope_name
    np.testing.assert_array_equal(copy.get_param_values(), policy.get_param_values())
    np.testing.assert_allclose(
        graph_dist_info(sess, copy, obs)["prob"], graph_dist_info(sess, policy, obs)["prob"]
    )


def test_pickling_reads_values_trained_in_tf(sess):
    policy = GaussianMLPPolicy(env_spec("Pendulum-v1"), hidden_sizes=(4,))
    # An optimizer changes the variables behind the numpy copy's back.
    sess.run([v.assign(v + 0.5) for v in policy.get_trainable_vars()])
    trained = np.concatenate([v.ravel() for v in sess.run(policy.get_trainable_vars())])

    with tf.compat.v1.Session(graph=tf.Graph()):
        restored = pickle.loads(pickle.dumps(policy))
        np.testing.assert_array_equal(restored.get_param_values(), trained)


def test_refresh_numpy_params_picks_up_graph_changes(sess):
    policy = CategoricalMLPPolicy(env_spec("CartPole-v1"), hidden_sizes=(4,))
    obs = observations("CartPole-v1", 8)
    before = policy.get_actions(obs)[1]["prob"]
    sess.run([v.assign(v * 3.0 + 0.1) for v in policy.get_trainable_vars()])

    stale = policy.get_actions(obs)[1]["prob"]
    policy.refresh_numpy_params()
    fresh = policy.get_actions(obs)[1]["prob"]

    np.testing.assert_array_equal(stale, before)
    np.testing.assert_allclose(fresh, graph_dist_info(sess, policy, obs)["prob"], atol=1e-5)
    assert not np.allclose(fresh, before)


def test_policy_outlives_its_session_and_rebuilds_in_the_next():
    obs = observations("CartPole-v1", 8)
    with tf.compat.v1.Session(graph=tf.Graph()):
        policy = CategoricalMLPPolicy(env_spec("CartPole-v1"))
        values = policy.get_param_values()
        probs = policy.get_actions(obs)[1]["prob"]

    np.testing.assert_array_equal(policy.get_param_values(), values)
    np.testing.assert_array_equal(policy.get_actions(obs)[1]["prob"], probs)
    with pytest.raises(NoDefaultSessionError):
        policy.get_trainable_vars()
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        np.testing.assert_allclose(graph_dist_info(sess, policy, obs)["prob"], probs, atol=1e-5)


def test_tf_trainer_initialisation_keeps_the_policy_values(tmp_path):
    from trainer import SnapshotConfig, TFTrainer

    with TFTrainer(SnapshotConfig(str(tmp_path / "exp"))) as trainer:
        policy = CategoricalMLPPolicy(env_spec("CartPole-v1"), hidden_sizes=(4,))
        values = np.linspace(-1, 1, policy.get_param_values().size).astype(np.float32)
        policy.set_param_values(values)

        trainer.initialize_tf_vars()

        assert tf.compat.v1.get_default_session() is trainer.sess
        np.testing.assert_array_equal(
            np.concatenate([v.ravel() for v in trainer.sess.run(policy.get_trainable_vars())]),
            values,
        )
