from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from trainer.errors import ConfigError
from trainer.policies import Categorical, DiagonalGaussian


def _probs(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    p = rng.uniform(0.05, 1.0, shape)
    return (p / p.sum(axis=-1, keepdims=True)).astype(np.float32)


def test_categorical_from_logits_and_probs_agree(sess):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 3)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    actions = np.array([0, 2, 1, 1, 0])

    a = Categorical(logits=logits)
    b = Categorical(prob=probs)
    one_hot = np.eye(3, dtype=np.float32)[actions]
    out = sess.run(
        {
            "lp_a": a.log_prob(actions),
            "lp_b": b.log_prob(one_hot),
            "ent": a.entropy(),
            "prob": a.dist_info["prob"],
        }
    )

    expected = np.log(probs[np.arange(5), actions])
    np.testing.assert_allclose(out["lp_a"], expected, atol=1e-5)
    np.testing.assert_allclose(out["lp_b"], expected, atol=1e-5)
    np.testing.assert_allclose(out["ent"], -(probs * np.log(probs)).sum(axis=1), atol=1e-5)
    np.testing.assert_allclose(out["prob"], probs, atol=1e-6)


def test_categorical_kl_matches_its_definition_and_is_zero_on_itself(sess):
    rng = np.random.default_rng(1)
    p, q = _probs(rng, (2, 4, 3)), _probs(rng, (2, 4, 3))

    kl_pq, kl_pp = sess.run(
        [
            Categorical(prob=p).kl_divergence(Categorical(prob=q)),
            Categorical(prob=p).kl_divergence(Categorical(prob=p)),
        ]
    )

    assert kl_pq.shape == (2, 4)
    np.testing.assert_allclose(kl_pq, (p * np.log(p / q)).sum(axis=-1), atol=1e-5)
    np.testing.assert_allclose(kl_pp, 0.0, atol=1e-7)


def test_gaussian_log_prob_and_entropy_match_the_density(sess):
    rng = np.random.default_rng(2)
    mean = rng.normal(size=(6, 2)).astype(np.float32)
    log_std = rng.normal(0, 0.3, size=(6, 2)).astype(np.float32)
    x = rng.normal(size=(6, 2)).astype(np.float32)
    dist = DiagonalGaussian(mean, log_std)

    logp, ent = sess.run([dist.log_prob(x), dist.entropy()])

    std = np.exp(log_std)
    density = np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(logp, np.log(density).sum(axis=1), atol=1e-4)
    np.testing.assert_allclose(
        ent, (0.5 * np.log(2 * np.pi * np.e * std**2)).sum(axis=1), atol=1e-5
    )


def test_gaussian_kl_agrees_with_a_monte_carlo_estimate(sess):
    p = DiagonalGaussian(
        np.array([[0.3, -1.0]], np.float32), np.log(np.array([[0.5, 1.5]], np.float32))
    )
    q = DiagonalGaussian(
        np.array([[0.0, 0.5]], np.float32), np.log(np.array([[1.0, 0.8]], np.float32))
    )
    samples = (
        np.array([0.3, -1.0])
        + np.array([0.5, 1.5]) * np.random.default_rng(3).standard_normal((200000, 2))
    ).astype(np.float32)
    x = tf.compat.v1.placeholder(tf.float32, (None, 2))
    p_all = DiagonalGaussian(
        tf.tile(p.mean, [tf.shape(x)[0], 1]), tf.tile(p.log_std, [tf.shape(x)[0], 1])
    )
    q_all = DiagonalGaussian(
        tf.tile(q.mean, [tf.shape(x)[0], 1]), tf.tile(q.log_std, [tf.shape(x)[0], 1])
    )

    kl, kl_self, log_ratio = sess.run(
        [p.kl_divergence(q), p.kl_divergence(p), p_all.log_prob(x) - q_all.log_prob(x)],
        {x: samples},
    )

    assert np.isclose(kl[0], log_ratio.mean(), rtol=0.02)
    np.testing.assert_allclose(kl_self, 0.0, atol=1e-7)


def test_log_std_broadcasts_to_the_mean(sess):
    dist = DiagonalGaussian(np.zeros((4, 2), np.float32), np.array([0.1, 0.2], np.float32))

    log_std = sess.run(dist.dist_info["log_std"])

    np.testing.assert_allclose(log_std, np.tile([0.1, 0.2], (4, 1)))


def test_from_infos_requires_every_key(sess):
    with pytest.raises(ConfigError, match="log_std"):
        DiagonalGaussian.from_infos({"mean": tf.zeros((1, 2))})
    with pytest.raises(ConfigError, match="exactly one"):
        Categorical()


def test_float_action_indices_are_refused(sess):
    dist = Categorical(prob=np.full((3, 2), 0.5, np.float32))
    with pytest.raises(ConfigError, match="integer"):
        dist.log_prob(np.zeros(3, np.float32))


def test_kl_between_different_families_is_refused(sess):
    cat = Categorical(prob=np.full((1, 2), 0.5, np.float32))
    gauss = DiagonalGaussian(np.zeros((1, 2), np.float32), np.zeros((1, 2), np.float32))
    with pytest.raises(ConfigError, match="Categorical and DiagonalGaussian"):
        cat.kl_divergence(gauss)
