"""GaussianMLPPolicy: an MLP mean and a learned standard deviation for Box action spaces."""

from __future__ import annotations

import math
import numbers
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
from trainer.policies.distributions import DiagonalGaussian, Distribution
from trainer.policies.policy import Policy

Initializer = str | Callable[..., Any]
_STD_PARAMETERIZATIONS = ("exp", "softplus")


def _std_to_param(std: float, parameterization: str) -> float:
    """Return the raw parameter whose transform is ``std``."""
    if parameterization == "exp":
        return math.log(std)
    return math.log(math.expm1(std))  # inverse softplus


def _check_positive(value: float | None, param: str, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ConfigError(f"{param}={value!r} is not valid: give a positive number, "
                          "e.g. 1.0.")


class GaussianMLPPolicy(Policy):
    """A policy for Box action spaces: a diagonal Gaussian with an MLP mean.

    The standard deviation is a state-independent vector (default), a second MLP
    (``adaptive_std``), or extra outputs of the mean network (``std_share_network``). Its raw
    parameter ``p`` gives ``std = exp(p)`` (``"exp"``) or ``softplus(p)`` (``"softplus"``) and is
    clipped to ``[min_std, max_std]`` in parameter space, as in garage.

    Actions are sampled with numpy (``mean + std * N(0, 1)`` from the policy's own generator)
    and are not clipped to the space's bounds: the environment wrapper clips what it executes,
    while the algorithm needs the action that was actually sampled.

    Args:
        env_spec: Environment spec; its action space must be a 1-D ``gymnasium.spaces.Box``.
        hidden_sizes: Widths of the mean network's hidden layers. Default ``(32, 32)``.
        hidden_nonlinearity: Hidden activation (name or TF function). Default ``tf.nn.tanh``.
        output_nonlinearity: Activation of the mean. Default ``None``.
        learn_std: Whether the std is trained. Default ``True``.
        adaptive_std: Compute the std with a separate MLP of the observation. Default
            ``False``.
        std_share_network: Compute the std as extra outputs of the mean network. Default
            ``False``.
        init_std: Initial std. Default 1.0.
        min_std: Lower bound of the std, or ``None``. Default 1e-6.
        max_std: Upper bound of the std, or ``None`` (default).
        std_parameterization: ``"exp"`` (default) or ``"softplus"``.
        layer_normalization: Normalise each hidden layer's output. Default ``False``.
        name: Name of the policy and its variable scope. Default ``"GaussianMLPPolicy"``.
        hidden_w_init: Hidden kernels' initializer (see CategoricalMLPPolicy). Default
            ``"glorot_uniform"``.
        hidden_b_init: Hidden biases' initializer. Default ``"zeros"``.
        output_w_init: Output kernel's initializer. Default ``"glorot_uniform"``.
        output_b_init: Output bias' initializer (mean part). Default ``"zeros"``.
        std_hidden_sizes: Hidden widths of the ``adaptive_std`` network. Default ``None``:
            ``hidden_sizes``.

    Raises:
        ConfigError: If the action space is not a 1-D Box, or options conflict (``adaptive_std``
            with ``std_share_network``, either with ``learn_std=False``).
        NoDefaultSessionError: If built outside a default TF session.
    """

    distribution_cls = DiagonalGaussian
    _transient = ("_np_mean_net", "_np_std_net", "_np_log_std", "_np_std")

    def __init__(self, env_spec: Any, hidden_sizes: Sequence[int] = (32, 32),
                 hidden_nonlinearity: str | Callable[..., Any] | None = tf.nn.tanh,
                 output_nonlinearity: str | Callable[..., Any] | None = None,
                 learn_std: bool = True, adaptive_std: bool = False,
                 std_share_network: bool = False, init_std: float = 1.0,
                 min_std: float | None = 1e-6, max_std: float | None = None,
                 std_parameterization: str = "exp", layer_normalization: bool = False,
                 name: str = "GaussianMLPPolicy",
                 hidden_w_init: Initializer = "glorot_uniform",
                 hidden_b_init: Initializer = "zeros",
                 output_w_init: Initializer = "glorot_uniform",
                 output_b_init: Initializer = "zeros",
                 std_hidden_sizes: Sequence[int] | None = None) -> None:
        super().__init__(env_spec, name)
        space = env_spec.action_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise ConfigError(
                f"GaussianMLPPolicy needs a 1-D Box action space, but the env_spec's "
                f"action_space is {space!r}: use CategoricalMLPPolicy for Discrete actions, "
                "or flatten the action space with a wrapper.")
        self._check_std_options(learn_std, adaptive_std, std_share_network, init_std, min_std,
                                max_std, std_parameterization)
        for param, value in (("hidden_w_init", hidden_w_init), ("hidden_b_init", hidden_b_init),
                             ("output_w_init", output_w_init), ("output_b_init", output_b_init)):
            check_initializer(value, param)
        if std_share_network and (output_b_init != "zeros" or output_nonlinearity is not None):
            raise ConfigError(
                f"std_share_network=True needs output_b_init='zeros' and "
                f"output_nonlinearity=None (got {output_b_init!r}, {output_nonlinearity!r}): the "
                "shared output layer holds both the mean and the std parameter.")
        self._action_dim = int(space.shape[0])
        self._action_dtype = space.dtype
        self._std_options = {
            "learn_std": bool(learn_std), "adaptive_std": bool(adaptive_std),
            "std_share_network": bool(std_share_network), "init_std": float(init_std),
            "min_std": min_std, "max_std": max_std,
            "std_parameterization": std_parameterization,
        }
        self._inits = (hidden_w_init, hidden_b_init, output_w_init, output_b_init)
        hidden = check_hidden_sizes(hidden_sizes)
        hidden_act = resolve_nonlinearity(hidden_nonlinearity, "hidden_nonlinearity")
        self._mean_mlp = MLP(
            input_dim=self.obs_dim, hidden_sizes=hidden,
            output_dim=self._action_dim * (2 if std_share_network else 1),
            hidden_nonlinearity=hidden_act,
            output_nonlinearity=resolve_nonlinearity(output_nonlinearity, "output_nonlinearity"),
            layer_normalization=bool(layer_normalization))
        self._std_mlp = None
        if adaptive_std:
            self._std_mlp = MLP(
                input_dim=self.obs_dim,
                hidden_sizes=check_hidden_sizes(
                    hidden if std_hidden_sizes is None else std_hidden_sizes,
                    "std_hidden_sizes"),
                output_dim=self._action_dim, hidden_nonlinearity=hidden_act,
                output_nonlinearity=None, layer_normalization=bool(layer_normalization))
        self._init_std_param = _std_to_param(init_std, std_parameterization)
        self._min_param = None if min_std is None else _std_to_param(min_std,
                                                                      std_parameterization)
        self._max_param = None if max_std is None else _std_to_param(max_std,
                                                                      std_parameterization)
        self._build()

    @staticmethod
    def _check_std_options(learn_std: bool, adaptive_std: bool, std_share_network: bool,
                           init_std: float, min_std: float | None, max_std: float | None,
                           std_parameterization: str) -> None:
        if std_parameterization not in _STD_PARAMETERIZATIONS:
            raise ConfigError(f"std_parameterization={std_parameterization!r} is not valid: "
                              f"use one of {list(_STD_PARAMETERIZATIONS)}.")
        if adaptive_std and std_share_network:
            raise ConfigError("adaptive_std=True and std_share_network=True conflict: the std "
                              "comes either from its own network or from the mean network; "
                              "set one of them to False.")
        if not learn_std and (adaptive_std or std_share_network):
            raise ConfigError("learn_std=False is not valid with adaptive_std or "
                              "std_share_network, whose std is always learned: set "
                              "learn_std=True or use a fixed std vector.")
        _check_positive(init_std, "init_std")
        _check_positive(min_std, "min_std", allow_none=True)
        _check_positive(max_std, "max_std", allow_none=True)
        if min_std is not None and max_std is not None and min_std > max_std:
            raise ConfigError(f"min_std={min_std!r} is larger than max_std={max_std!r}: swap "
                              "them or drop one.")

    def _hyperparameters(self) -> dict[str, Any]:
        hidden_w_init, hidden_b_init, output_w_init, output_b_init = self._inits
        return {
            "hidden_sizes": self._mean_mlp.hidden_sizes,
            "hidden_nonlinearity": self._mean_mlp.hidden_nonlinearity,
            "output_nonlinearity": self._mean_mlp.output_nonlinearity,
            "layer_normalization": self._mean_mlp.layer_normalization,
            "hidden_w_init": hidden_w_init, "hidden_b_init": hidden_b_init,
            "output_w_init": output_w_init, "output_b_init": output_b_init,
            "std_hidden_sizes": self._std_mlp.hidden_sizes if self._std_mlp else None,
            **self._std_options,
        }

    # -- variables -----------------------------------------------------------------------------

    def _create_variables(self) -> list[tf.Variable]:
        hidden_w_init, hidden_b_init, output_w_init, output_b_init = self._inits
        a = self._action_dim
        opts = self._std_options
        mean_b_init = output_b_init
        if opts["std_share_network"]:
            # The std half of the shared output layer starts at init_std, as in garage.
            mean_b_init = np.concatenate([np.zeros(a), np.full(a, self._init_std_param)])
        with tf.compat.v1.variable_scope("mean_network"):
            variables = self._mean_mlp.create_variables(
                hidden_w_init, hidden_b_init, output_w_init, mean_b_init,
                seeds=self._init_seeds[:32])
        if self._std_mlp is not None:
            with tf.compat.v1.variable_scope("std_network"):
                variables += self._std_mlp.create_variables(
                    hidden_w_init, hidden_b_init, output_w_init,
                    np.full(a, self._init_std_param), seeds=self._init_seeds[32:])
        elif not opts["std_share_network"]:
            variables.append(tf.compat.v1.get_variable(
                "log_std_param", (a,), tf.float32,
                tf.compat.v1.constant_initializer(self._init_std_param),
                trainable=opts["learn_std"]))
        return variables

    @property
    def dist_info_specs(self) -> dict[str, tuple[int, ...]]:
        """``{"mean": (A,), "log_std": (A,)}``."""
        return {"mean": (self._action_dim,), "log_std": (self._action_dim,)}

    # -- numpy path ----------------------------------------------------------------------------

    def _param_to_log_std_np(self, param: np.ndarray) -> np.ndarray:
        if self._min_param is not None:
            param = np.maximum(param, np.float32(self._min_param))
        if self._max_param is not None:
            param = np.minimum(param, np.float32(self._max_param))
        if self._std_options["std_parameterization"] == "exp":
            return param
        return np.log(np.logaddexp(np.float32(0.0), param)).astype(np.float32)

    def _on_values_changed(self) -> None:
        self._np_log_std = None
        self._np_mean_net = self._np_std_net = None
        if not self._np_values:
            return
        n_mean = self._mean_mlp.n_params
        self._np_mean_net = NumpyMLP(self._mean_mlp, self._np_values[:n_mean])
        if self._std_mlp is not None:
            self._np_std_net = NumpyMLP(self._std_mlp, self._np_values[n_mean:])
        if self._std_mlp is None and not self._std_options["std_share_network"] \
                and self._np_values:
            self._np_log_std = self._param_to_log_std_np(self._np_values[-1])
            self._np_std = np.exp(self._np_log_std)

    def _dist_params_np(self, flat_obs: np.ndarray) -> dict[str, np.ndarray]:
        a = self._action_dim
        out = self._np_mean_net(flat_obs)
        if self._np_log_std is not None:
            return {"mean": out, "log_std": np.repeat(self._np_log_std[None], len(out), axis=0)}
        if self._np_std_net is not None:
            return {"mean": out, "log_std": self._param_to_log_std_np(self._np_std_net(flat_obs))}
        return {"mean": out[:, :a].copy(), "log_std": self._param_to_log_std_np(out[:, a:])}

    def _sample_np(self, infos: dict[str, np.ndarray]) -> np.ndarray:
        mean = infos["mean"]
        noise = self._rng.standard_normal(mean.shape, dtype=np.float32)
        std = self._np_std if self._np_log_std is not None else np.exp(infos["log_std"])
        return (mean + std * noise).astype(self._action_dtype, copy=False)

    # -- symbolic path -------------------------------------------------------------------------

    def _param_to_log_std_tf(self, param: tf.Tensor) -> tf.Tensor:
        if self._min_param is not None:
            param = tf.maximum(param, self._min_param)
        if self._max_param is not None:
            param = tf.minimum(param, self._max_param)
        if self._std_options["std_parameterization"] == "exp":
            return param
        return tf.math.log(tf.nn.softplus(param))

    def _build_distribution(self, flat_obs: tf.Tensor) -> Distribution:
        a = self._action_dim
        variables = self._tf.variables
        n_mean = self._mean_mlp.n_params
        out = self._mean_mlp.forward_tf(flat_obs, variables[:n_mean])
        if self._std_mlp is not None:
            mean = out
            param = self._std_mlp.forward_tf(flat_obs, variables[n_mean:])
        elif self._std_options["std_share_network"]:
            mean, param = out[:, :a], out[:, a:]
        else:
            mean, param = out, variables[-1]
        return DiagonalGaussian(mean, self._param_to_log_std_tf(param))
