"""TFTrainer: the session context manager semantics of garage's TFTrainer."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from trainer import NotSetupError, SnapshotConfig, TFTrainer


@pytest.fixture
def config(tmp_path):
    return SnapshotConfig(str(tmp_path))


def test_default_session_exists_inside_and_is_closed_after(config):
    with TFTrainer(config) as trainer:
        assert tf.compat.v1.get_default_session() is trainer.sess
        assert tf.compat.v1.get_default_graph() is trainer.sess.graph
    assert tf.compat.v1.get_default_session() is not trainer.sess
    assert trainer.sess._closed


def test_given_session_becomes_default(config):
    sess = tf.compat.v1.Session(graph=tf.Graph())
    with TFTrainer(config, sess=sess):
        assert tf.compat.v1.get_default_session() is sess
    assert sess._closed


def test_new_session_gets_a_fresh_graph(config):
    outer = tf.Graph()
    with outer.as_default(), TFTrainer(config) as trainer:
        assert trainer.sess.graph is not outer


def test_external_default_session_stays_open_and_default(config):
    sess = tf.compat.v1.Session(graph=tf.Graph())
    with sess.as_default(), sess.graph.as_default():
        with TFTrainer(config, sess=sess) as trainer:
            assert not trainer.sess_entered
        assert tf.compat.v1.get_default_session() is sess
        assert not sess._closed
        assert sess.run(tf.constant(3)) == 3
    sess.close()


def test_initialize_tf_vars_keeps_values_loaded_before_setup(config):
    with TFTrainer(config) as trainer:
        loaded = tf.compat.v1.get_variable("loaded", initializer=np.zeros(3, np.float32))
        fresh = tf.compat.v1.get_variable("fresh", initializer=np.full(2, 5.0, np.float32))
        trainer.sess.run(loaded.initializer)
        trainer.sess.run(loaded.assign(np.ones(3, np.float32)))
        trainer.setup(algo=type("Algo", (), {"train": lambda self, t: None})(), env=None)
        np.testing.assert_array_equal(trainer.sess.run(loaded), np.ones(3))
        np.testing.assert_array_equal(trainer.sess.run(fresh), np.full(2, 5.0))


def test_train_before_setup_raises(config):
    with TFTrainer(config) as trainer, pytest.raises(NotSetupError):
        trainer.train(1)
