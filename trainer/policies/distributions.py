"""Symbolic (TF1 graph) action distributions returned by ``policy.build(obs_var)``.

Each distribution holds tensors of any leading shape (``(N, ...)`` or ``(N, T, ...)``) and
reduces over the last (action) axis only, so algorithms can use padded ``(N, T)`` batches.
``kl_divergence(other)`` is KL(self || other), as in TensorFlow Probability; garage's
``kl_sym(old, new)`` is ``old.kl_divergence(new)``.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from typing import ClassVar

import tensorflow as tf

from trainer.errors import ConfigError

TINY = 1e-8  # garage's floor for log-probabilities computed from stored probabilities.


class Distribution(abc.ABC):
    """A batch of action distributions in the default graph.

    Attributes:
        dist_info_keys: Keys of :attr:`dist_info`, equal to the keys of the policy's
            ``agent_infos`` from which :meth:`from_infos` rebuilds the distribution.
    """

    dist_info_keys: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_infos(cls, infos: Mapping[str, tf.Tensor]) -> Distribution:
        """Build the distribution from tensors with the keys of :attr:`dist_info_keys`.

        Args:
            infos: E.g. placeholders fed with the agent_infos collected during sampling.

        Raises:
            ConfigError: If a key is missing.
        """
        missing = [k for k in cls.dist_info_keys if k not in infos]
        if missing:
            raise ConfigError(f"infos lacks {missing} (has {sorted(infos)}): {cls.__name__} "
                              f"needs the keys {list(cls.dist_info_keys)}.")
        return cls(**{k: infos[k] for k in cls.dist_info_keys})

    @property
    @abc.abstractmethod
    def dist_info(self) -> dict[str, tf.Tensor]:
        """The tensors that define the distribution, keyed like the policy's agent_infos."""

    @abc.abstractmethod
    def log_prob(self, x_var: tf.Tensor) -> tf.Tensor:
        """Log-likelihood of actions ``x_var``, with the leading shape of the distribution."""

    @abc.abstractmethod
    def entropy(self) -> tf.Tensor:
        """Entropy, with the leading shape of the distribution."""

    @abc.abstractmethod
    def kl_divergence(self, other: Distribution) -> tf.Tensor:
        """KL(self || other), with the leading shape of the distribution.

        Args:
            other: A distribution of the same class and shape.
        """

    def likelihood_ratio(self, x_var: tf.Tensor, other: Distribution) -> tf.Tensor:
        """Return ``p_self(x) / p_other(x)``, computed as the exp of a log-prob difference.

        Args:
            x_var: Actions.
            other: Typically the old policy's distribution.
        """
        return tf.exp(self.log_prob(x_var) - other.log_prob(x_var))

    def _check_other(self, other: Distribution) -> None:
        if not isinstance(other, type(self)):
            raise ConfigError(f"cannot compute the KL divergence between {type(self).__name__} "
                              f"and {type(other).__name__}: build both from the same policy "
                              "class (e.g. policy.distribution_from_infos(...)).")


class Categorical(Distribution):
    """Categorical distributions over ``n`` actions, from logits or probabilities.

    Give exactly one of ``prob`` or ``logits``. Logits give exact log-probabilities; stored
    probabilities (the old policy's ``agent_infos["prob"]``) are floored at ``1e-8`` before the
    log, as garage did.

    Args:
        prob: ``(..., n)`` probabilities.
        logits: ``(..., n)`` unnormalised log-probabilities.
    """

    dist_info_keys = ("prob",)

    def __init__(self, prob: tf.Tensor | None = None, logits: tf.Tensor | None = None) -> None:
        if (prob is None) == (logits is None):
            raise ConfigError("Categorical takes exactly one of prob= or logits=; got "
                              f"prob={prob!r}, logits={logits!r}.")
        if logits is not None:
            self.logits = tf.convert_to_tensor(logits, dtype=tf.float32)
            self.log_probs = tf.nn.log_softmax(self.logits)
            self.prob = tf.nn.softmax(self.logits)
        else:
            self.prob = tf.convert_to_tensor(prob, dtype=tf.float32)
            self.log_probs = tf.math.log(tf.maximum(self.prob, TINY))
            self.logits = self.log_probs

    @property
    def dim(self) -> int:
        """Number of actions."""
        return int(self.prob.shape[-1])

    @property
    def dist_info(self) -> dict[str, tf.Tensor]:
        """``{"prob": (..., n)}``."""
        return {"prob": self.prob}

    def log_prob(self, x_var: tf.Tensor) -> tf.Tensor:
        """Log-probability of actions.

        Args:
            x_var: Integer action indices ``(...)`` (0-based), or float one-hot ``(..., n)``
                rows as garage stored them.
        """
        x_var = tf.convert_to_tensor(x_var)
        if x_var.dtype.is_integer:
            one_hot = tf.one_hot(x_var, self.dim, dtype=tf.float32)
        elif x_var.shape.rank is not None and x_var.shape.rank == self.prob.shape.rank - 1:
            raise ConfigError(f"x_var has float dtype and shape {x_var.shape}, which looks like "
                              "action indices: pass them as an integer tensor (or one-hot rows "
                              f"of width {self.dim}).")
        else:
            one_hot = tf.cast(x_var, tf.float32)
        return tf.reduce_sum(one_hot * self.log_probs, axis=-1)

    def entropy(self) -> tf.Tensor:
        """``-sum p log p`` over actions."""
        return -tf.reduce_sum(self.prob * self.log_probs, axis=-1)

    def kl_divergence(self, other: Distribution) -> tf.Tensor:
        """``sum p (log p - log q)`` over actions."""
        self._check_other(other)
        return tf.reduce_sum(self.prob * (self.log_probs - other.log_probs), axis=-1)


class DiagonalGaussian(Distribution):
    """Gaussians with diagonal covariance.

    Args:
        mean: ``(..., A)`` means.
        log_std: ``(..., A)`` natural logs of the standard deviations (broadcastable to mean).
    """

    dist_info_keys = ("mean", "log_std")

    def __init__(self, mean: tf.Tensor, log_std: tf.Tensor) -> None:
        self.mean = tf.convert_to_tensor(mean, dtype=tf.float32)
        self.log_std = tf.convert_to_tensor(log_std, dtype=tf.float32) \
            + tf.zeros_like(self.mean)

    @property
    def dim(self) -> int:
        """Dimension of the action."""
        return int(self.mean.shape[-1])

    @property
    def dist_info(self) -> dict[str, tf.Tensor]:
        """``{"mean": (..., A), "log_std": (..., A)}``."""
        return {"mean": self.mean, "log_std": self.log_std}

    def log_prob(self, x_var: tf.Tensor) -> tf.Tensor:
        """Log-density of actions ``x_var`` of shape ``(..., A)``."""
        z = (tf.cast(x_var, tf.float32) - self.mean) * tf.exp(-self.log_std)
        return (-0.5 * tf.reduce_sum(tf.square(z), axis=-1)
                - tf.reduce_sum(self.log_std, axis=-1)
                - 0.5 * self.dim * math.log(2.0 * math.pi))

    def entropy(self) -> tf.Tensor:
        """``sum(log_std) + A/2 * log(2 pi e)``."""
        return tf.reduce_sum(self.log_std + 0.5 * math.log(2.0 * math.pi * math.e), axis=-1)

    def kl_divergence(self, other: Distribution) -> tf.Tensor:
        """Closed-form KL between diagonal Gaussians, summed over action dimensions."""
        self._check_other(other)
        var_ratio = tf.exp(2.0 * (self.log_std - other.log_std))
        mean_term = tf.square((self.mean - other.mean) * tf.exp(-other.log_std))
        return tf.reduce_sum(
            0.5 * (var_ratio + mean_term - 1.0) + other.log_std - self.log_std, axis=-1)
