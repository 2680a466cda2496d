"""GaussianMLPBaseline: an MLP regression of returns on observations, fitted in TF."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from trainer.baselines._paths import stack_paths
from trainer.errors import ConfigError
from trainer.optimizers import FirstOrderOptimizer, PenaltyLBFGSOptimizer
from trainer.policies._mlp import MLP, NumpyMLP, check_hidden_sizes, resolve_nonlinearity
from trainer.policies.distributions import DiagonalGaussian
from trainer.policies.spaces import ObservationFlattener
from trainer.policies.tf_module import GraphHandles, TFModule

# Adam on minibatches replaces garage's default full-batch L-BFGS (one compiled call per step).
_DEFAULT_FIRST_ORDER_ARGS = {"learning_rate": 3e-3, "max_optimization_epochs": 10,
                             "batch_size": 64, "tolerance": 0.0}
_STD_EPS = 1e-8  # Keeps normalisation finite for constant features (garage's value).


class GaussianMLPBaseline(TFModule):
    """A value baseline that regresses returns on observations with a Gaussian MLP.

    The network predicts ``N(mean(obs), exp(log_std))`` of the (normalised) return and is fitted
    by maximum likelihood. Before every fit the input and output normalisation statistics are
    reset to the batch's mean and std (as garage did). Fitting uses
    :class:`~trainer.optimizers.FirstOrderOptimizer` (Adam over shuffled minibatches, one
    compiled graph call per step, optimizer state pickled), or with ``use_trust_region``
    :class:`~trainer.optimizers.PenaltyLBFGSOptimizer` under ``KL(old || new) <= max_kl_step``.
    ``predict`` runs on a numpy copy of the weights (no TF call per episode).

    Args:
        env_spec: Anything with a gymnasium ``observation_space``.
        hidden_sizes: Widths of the hidden layers. Default ``(32, 32)``.
        hidden_nonlinearity: Hidden activation (name or TF function). Default ``tf.nn.tanh``.
        learn_std: Whether the predicted std is trained. Default ``True``.
        init_std: Initial std (of normalised returns). Default 1.0.
        normalize_inputs: Standardise observations with the batch statistics. Default
            ``True``.
        normalize_outputs: Standardise returns with the batch statistics. Default ``True``.
        optimizer_args: Keyword arguments of the optimizer. Default ``None``: for Adam
            ``{"learning_rate": 3e-3, "max_optimization_epochs": 10, "batch_size": 64,
            "tolerance": 0.0}`` (given keys override these), for the trust region
            PenaltyLBFGSOptimizer's defaults.
        use_trust_region: Limit each fit's change by a KL constraint. Default ``False``.
        max_kl_step: The KL limit of the trust region. Default 0.01.
        name: Name of the variable scope and of the tabular key
            ``<name>/ExplainedVariance``. Default ``"GaussianMLPBaseline"``.

    Raises:
        ConfigError: If an argument is invalid.
        NoDefaultSessionError: If built outside a default TF session.
    """

    _transient = ("_np_net",)

    def __init__(self, env_spec: Any, hidden_sizes: Sequence[int] = (32, 32),
                 hidden_nonlinearity: str | Callable[..., Any] | None = tf.nn.tanh,
                 learn_std: bool = True, init_std: float = 1.0,
                 normalize_inputs: bool = True, normalize_outputs: bool = True,
                 optimizer_args: Mapping[str, Any] | None = None,
                 use_trust_region: bool = False, max_kl_step: float = 0.01,
                 name: str = "GaussianMLPBaseline") -> None:
        super().__init__(name)
        if not hasattr(env_spec, "observation_space"):
            raise ConfigError(f"env_spec={env_spec!r} has no observation_space: pass env.spec "
                              "of a trainflow environment (an EnvSpec).")
        for param, value in (("init_std", init_std), ("max_kl_step", max_kl_step)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
                raise ConfigError(f"{param}={value!r} is not valid: give a positive number.")
        if optimizer_args is not None and not isinstance(optimizer_args, Mapping):
            raise ConfigError(f"optimizer_args={optimizer_args!r} is not valid: give a dict of "
                              "optimizer keyword arguments, e.g. {'learning_rate': 1e-3}.")
        self._env_spec = env_spec
        self._flattener = ObservationFlattener(env_spec.observation_space)
        self._mlp = MLP(input_dim=self._flattener.flat_dim,
                        hidden_sizes=check_hidden_sizes(hidden_sizes), output_dim=1,
                        hidden_nonlinearity=resolve_nonlinearity(hidden_nonlinearity,
                                                                 "hidden_nonlinearity"),
                        output_nonlinearity=None)
        self._learn_std = bool(learn_std)
        self._init_std = float(init_std)
        self._normalize_inputs = bool(normalize_inputs)
        self._normalize_outputs = bool(normalize_outputs)
        self._use_trust_region = bool(use_trust_region)
        self._max_kl_step = float(max_kl_step)
        self._optimizer = self._make_optimizer(dict(optimizer_args or {}))
        self._build()

    def _make_optimizer(self, args: dict[str, Any]) -> Any:
        try:
            if self._use_trust_region:
                return PenaltyLBFGSOptimizer(**args)
            return FirstOrderOptimizer(**{**_DEFAULT_FIRST_ORDER_ARGS, **args},
                                       name="optimizer")
        except TypeError as exc:
            cls = "PenaltyLBFGSOptimizer" if self._use_trust_region else "FirstOrderOptimizer"
            raise ConfigError(f"optimizer_args={args!r} is not valid for {cls}: {exc}. See "
                              f"trainer.optimizers.{cls} for its arguments.") from exc

    @property
    def env_spec(self) -> Any:
        """The environment spec the baseline was built for."""
        return self._env_spec

    # -- graph ---------------------------------------------------------------------------------

    def _create_variables(self) -> list[tf.Variable]:
        dim = self._flattener.flat_dim
        with tf.compat.v1.variable_scope("mean_network"):
            variables = self._mlp.create_variables("glorot_uniform", "zeros", "glorot_uniform",
                                                   "zeros", seeds=self._init_seeds)
        constant = tf.compat.v1.constant_initializer
        variables.append(tf.compat.v1.get_variable(
            "log_std", (1,), tf.float32, constant(math.log(self._init_std)),
            trainable=self._learn_std))
        for var_name, size, value in (("x_mean", dim, 0.0), ("x_std", dim, 1.0),
                                      ("y_mean", 1, 0.0), ("y_std", 1, 1.0)):
            variables.append(tf.compat.v1.get_variable(
                var_name, (size,), tf.float32, constant(value), trainable=False))
        return variables

    def _build_extra(self, handles: GraphHandles) -> None:
        n_mlp = self._mlp.n_params
        log_std, x_mean, x_std, y_mean, y_std = handles.variables[n_mlp:]
        dim = self._flattener.flat_dim
        with tf.compat.v1.name_scope(handles.scope.original_name_scope):
            xs = tf.compat.v1.placeholder(tf.float32, (None, dim), name="xs")
            ys = tf.compat.v1.placeholder(tf.float32, (None,), name="ys")
            mean = self._mlp.forward_tf((xs - x_mean) / x_std, handles.variables[:n_mlp])
            dist = DiagonalGaussian(mean, log_std)
            y_norm = ((ys - y_mean) / y_std)[:, None]
            loss = -tf.reduce_mean(dist.log_prob(y_norm))
            stats = [tf.compat.v1.placeholder(tf.float32, v.shape) for v in
                     (x_mean, x_std, y_mean, y_std)]
            assign_stats = tf.group(*[v.assign(p) for v, p in
                                      zip((x_mean, x_std, y_mean, y_std), stats)])
            handles.extra["assign_stats"] = handles.session.make_callable(assign_stats, stats)
            if self._use_trust_region:
                old_mean = tf.compat.v1.placeholder(tf.float32, (None, 1), name="old_mean")
                old_log_std = tf.compat.v1.placeholder(tf.float32, (None, 1), name="old_log_std")
                kl = tf.reduce_mean(DiagonalGaussian(old_mean, old_log_std).kl_divergence(dist))
                handles.extra["dist"] = handles.session.make_callable(
                    [dist.mean, dist.log_std], [xs])
                self._optimizer.update_opt(loss, self, leq_constraint=(kl, self._max_kl_step),
                                           inputs=[xs, ys, old_mean, old_log_std],
                                           constraint_name="mean_kl")
            else:
                self._optimizer.update_opt(loss, self, inputs=[xs, ys])
            handles.extra["loss"] = handles.session.make_callable(loss, [xs, ys])

    # -- fitting -------------------------------------------------------------------------------

    def _batch(self, paths: Sequence[Mapping[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        return stack_paths(paths, lambda path: self._flattener.flatten_n(path["observations"]),
                           np.float32)

    def fit(self, paths: Sequence[Mapping[str, np.ndarray]]) -> None:
        """Fit the network to the paths' returns.

        Args:
            paths: Episodes, each a dict with ``"observations"`` ``(T, ...)`` and
                ``"returns"`` ``(T,)``.

        Raises:
            ConfigError: If ``paths`` is empty or holds mismatched or non-finite arrays.
            NoDefaultSessionError: If the graph must be built and there is no session.
        """
        xs, ys = self._batch(paths)
        handles = self._ensure_built()
        dim = self._flattener.flat_dim
        x_mean, x_std = np.zeros(dim, np.float32), np.ones(dim, np.float32)
        y_mean, y_std = np.zeros(1, np.float32), np.ones(1, np.float32)
        if self._normalize_inputs:
            x_mean, x_std = xs.mean(axis=0), xs.std(axis=0) + _STD_EPS
        if self._normalize_outputs:
            y_mean, y_std = ys.mean(keepdims=True), ys.std(keepdims=True) + _STD_EPS
        handles.extra["assign_stats"](x_mean, x_std, y_mean, y_std)
        if self._use_trust_region:
            old_mean, old_log_std = handles.extra["dist"](xs)
            self._optimizer.optimize([xs, ys, old_mean, old_log_std])
        else:
            self._optimizer.optimize([xs, ys])
        self._read_values()

    def loss(self, paths: Sequence[Mapping[str, np.ndarray]]) -> float:
        """Return the mean negative log-likelihood of the paths' returns (normalised).

        Args:
            paths: As for :meth:`fit`.
        """
        xs, ys = self._batch(paths)
        return float(self._ensure_built().extra["loss"](xs, ys))

    # -- prediction (numpy) --------------------------------------------------------------------

    def _on_values_changed(self) -> None:
        self._np_net = None
        if self._np_values:
            self._np_net = NumpyMLP(self._mlp, self._np_values[:self._mlp.n_params])

    def predict(self, path: Mapping[str, np.ndarray]) -> np.ndarray:
        """Return the predicted returns of one path, computed with numpy.

        Args:
            path: A dict with ``"observations"`` ``(T, ...)``.

        Returns:
            A ``(T,)`` float32 array.
        """
        x_mean, x_std, y_mean, y_std = self._np_values[self._mlp.n_params + 1:]
        xs = (self._flattener.flatten_n(path["observations"]) - x_mean) / x_std
        return (self._np_net(xs)[:, 0] * y_std + y_mean).astype(np.float32)
