"""CategoricalMLPPolicy: an MLP that outputs a categorical distribution over discrete actions."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import tensorflow as tf

from trainer.errors import ConfigError
from trainer.policies._mlp import (
    MLP,
    NumpyMLP,
    check_hidden_sizes,
    check_initializer,
    resolve_nonlinearity,
)
from trainer.policies.distributions import Categorical, Distribution
from trainer.policies.policy import Policy

Initializer = str | Callable[..., Any]


class CategoricalMLPPolicy(Policy):
    """A policy for Discrete action spaces: ``softmax(output_nonlinearity(MLP(obs)))``.

    Actions are sampled with numpy from a copy of the weights (refreshed by
    ``set_param_values``, ``get_param_values`` and ``refresh_numpy_params``), drawing from the
    policy's own generator, so sampling never calls TensorFlow.

    Example::

        with TFTrainer(snapshot_config) as trainer:
            policy = CategoricalMLPPolicy(env.spec, hidden_sizes=(32, 32))
            actions, infos = policy.get_actions(observations)   # infos["prob"]: (N, n)

    Args:
        env_spec: Environment spec; its action space must be ``gymnasium.spaces.Discrete``.
        hidden_sizes: Widths of the hidden layers. Default ``(32, 32)``.
        hidden_nonlinearity: Hidden activation: a registered name or TF function, or ``None``.
            Default ``tf.nn.tanh``.
        hidden_w_init: Hidden kernels' initializer: ``"glorot_uniform"`` (default, seeded from
            ``trainer.set_seed``), ``"glorot_normal"``, ``"orthogonal"``, ``"zeros"``,
            ``"ones"``, or a TF initializer.
        hidden_b_init: Hidden biases' initializer. Default ``"zeros"``.
        output_nonlinearity: Activation applied to the logits. Default ``None``.
        output_w_init: Output kernel's initializer. Default ``"glorot_uniform"``.
        output_b_init: Output bias' initializer. Default ``"zeros"``.
        layer_normalization: Normalise each hidden layer's output. Default ``False``.
        name: Name of the policy and its variable scope. Default ``"CategoricalMLPPolicy"``.

    Raises:
        ConfigError: If the action space is not Discrete, or an argument is invalid.
        NoDefaultSessionError: If built outside a default TF session.
    """

    distribution_cls = Categorical
    _transient = ("_np_net", "_ones", "_logit_limit")

    def __init__(self, env_spec: Any, hidden_sizes: Sequence[int] = (32, 32),
                 hidden_nonlinearity: str | Callable[..., Any] | None = tf.nn.tanh,
                 hidden_w_init: Initializer = "glorot_uniform",
                 hidden_b_init: Initializer = "zeros",
                 output_nonlinearity: str | Callable[..., Any] | None = None,
                 output_w_init: Initializer = "glorot_uniform",
                 output_b_init: Initializer = "zeros",
                 layer_normalization: bool = False,
                 name: str = "CategoricalMLPPolicy") -> None:
        super().__init__(env_spec, name)
        space = env_spec.action_space
        if not isinstance(space, gym.spaces.Discrete):
            raise ConfigError(
                f"CategoricalMLPPolicy needs a Discrete action space, but the env_spec's "
                f"action_space is {space!r}: use GaussianMLPPolicy for Box actions.")
        for param, value in (("hidden_w_init", hidden_w_init), ("hidden_b_init", hidden_b_init),
                             ("output_w_init", output_w_init), ("output_b_init", output_b_init)):
            check_initializer(value, param)
        self._n_actions = int(space.n)
        self._action_start = int(space.start)
        self._inits = (hidden_w_init, hidden_b_init, output_w_init, output_b_init)
        self._mlp = MLP(
            input_dim=self.obs_dim,
            hidden_sizes=check_hidden_sizes(hidden_sizes),
            output_dim=self._n_actions,
            hidden_nonlinearity=resolve_nonlinearity(hidden_nonlinearity, "hidden_nonlinearity"),
            output_nonlinearity=resolve_nonlinearity(output_nonlinearity, "output_nonlinearity"),
            layer_normalization=bool(layer_normalization))
        self._build()

    def _hyperparameters(self) -> dict[str, Any]:
        hidden_w_init, hidden_b_init, output_w_init, output_b_init = self._inits
        return {
            "hidden_sizes": self._mlp.hidden_sizes,
            "hidden_nonlinearity": self._mlp.hidden_nonlinearity,
            "hidden_w_init": hidden_w_init,
            "hidden_b_init": hidden_b_init,
            "output_nonlinearity": self._mlp.output_nonlinearity,
            "output_w_init": output_w_init,
            "output_b_init": output_b_init,
            "layer_normalization": self._mlp.layer_normalization,
        }

    def _create_variables(self) -> list[tf.Variable]:
        with tf.compat.v1.variable_scope("mlp"):
            return self._mlp.create_variables(*self._inits, seeds=self._init_seeds)

    @property
    def dist_info_specs(self) -> dict[str, tuple[int, ...]]:
        """``{"prob": (n_actions,)}``."""
        return {"prob": (self._n_actions,)}

    def _on_values_changed(self) -> None:
        self._np_net = NumpyMLP(self._mlp, self._np_values) if self._np_values else None
        self._ones = np.ones(self._n_actions, dtype=np.float32)
        # Below this |logit| no exp(logit) overflows or underflows float32 and no row sum of
        # n of them overflows, so the softmax needs no max shift.
        self._logit_limit = 87.0 - math.log(self._n_actions)

    def _dist_params_np(self, flat_obs: np.ndarray) -> dict[str, np.ndarray]:
        logits = self._np_net(flat_obs)
        flat = logits.ravel()
        # argmax/argmin + indexing is cheaper than a max() reduction at these sizes.
        limit = self._logit_limit
        if flat[flat.argmax()] < limit and flat[flat.argmin()] > -limit:
            exp = np.exp(logits, out=logits)
        else:
            logits -= logits.max(axis=1, keepdims=True)
            exp = np.exp(logits, out=logits)
        # Row sums as a dot product: cheaper than a sum() reduction at these sizes.
        np.divide(exp, np.dot(exp, self._ones)[:, None], out=exp)
        return {"prob": exp}

    def _sample_np(self, infos: dict[str, np.ndarray]) -> np.ndarray:
        prob = infos["prob"]
        # argmax_i p_i / E_i with E_i ~ Exp(1) picks i with probability p_i (the exponential
        # race, equivalent to Gumbel-max) in three vectorised calls.
        # float64 draws: float32 ones are exactly 0 often enough (~1 in 10^6) to matter.
        race = self._rng.standard_exponential(prob.shape)
        np.divide(prob, race, out=race)
        actions = race.argmax(axis=1)
        if self._action_start:
            actions += self._action_start
        return actions

    def _build_distribution(self, flat_obs: tf.Tensor) -> Distribution:
        return Categorical(logits=self._mlp.forward_tf(flat_obs, self._tf.variables))

    def _reshape_source(self, dist: Distribution) -> dict[str, tf.Tensor]:
        return {"logits": dist.logits}
