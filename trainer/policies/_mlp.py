"""A multilayer perceptron built twice: as TF1 variables/ops and as a numpy forward pass.

The TF side is what algorithms differentiate; the numpy side is what samplers call on every
step (TF's fixed per-call cost of ~150-270 us would dominate an env step of ~5 us). Both read
the same ordered list of parameters, so one flat vector describes both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from trainer.errors import ConfigError

LAYER_NORM_EPSILON = 1e-3  # Keras' LayerNormalization default, which garage's MLPs used.


def _np_tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x, out=x)


def _np_relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0, out=x)


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # Same values as 1/(1+e^-x), no overflow warning.


def _np_softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x).astype(x.dtype, copy=False)


def _np_elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


# name -> (TF function, in-place-friendly numpy function)
_NONLINEARITIES: dict[str, tuple[Callable[..., Any], Callable[[np.ndarray], np.ndarray]]] = {
    "tanh": (tf.nn.tanh, _np_tanh),
    "relu": (tf.nn.relu, _np_relu),
    "sigmoid": (tf.nn.sigmoid, _np_sigmoid),
    "softplus": (tf.nn.softplus, _np_softplus),
    "elu": (tf.nn.elu, _np_elu),
}


def register_nonlinearity(name: str, tf_fn: Callable[..., Any],
                          np_fn: Callable[[np.ndarray], np.ndarray]) -> None:
    """Make a nonlinearity usable by the MLP policies and baselines.

    Policies compute actions with numpy, so every nonlinearity needs a numpy twin that gives
    the same values (within float32 rounding) as the TF function.

    Args:
        name: Name to register it under; it is also accepted wherever a nonlinearity is.
        tf_fn: The TensorFlow function, e.g. ``tf.nn.leaky_relu``.
        np_fn: The numpy function of one float32 array (it may work in place).
    """
    _NONLINEARITIES[name] = (tf_fn, np_fn)


def resolve_nonlinearity(value: str | Callable[..., Any] | None, param: str) -> str | None:
    """Return the registered name of a nonlinearity given as a name or a TF function.

    Args:
        value: ``None`` (identity), a registered name (``"tanh"``), or a registered TF function
            (``tf.nn.tanh``).
        param: The parameter's name, for the error message.

    Raises:
        ConfigError: If ``value`` is not registered.
    """
    if value is None:
        return None
    if isinstance(value, str) and value in _NONLINEARITIES:
        return value
    for name, (tf_fn, _) in _NONLINEARITIES.items():
        if value is tf_fn:
            return name
    raise ConfigError(
        f"{param}={value!r} is not supported: policies compute actions with numpy and need a "
        f"numpy twin of it. Use one of {sorted(_NONLINEARITIES)} (as a name or tf.nn "
        "function), None, or register yours with "
        "trainer.policies.register_nonlinearity(name, tf_fn, np_fn).")


_INITIALIZERS: dict[str, Callable[[int], Any]] = {
    "glorot_uniform": lambda seed: tf.compat.v1.glorot_uniform_initializer(seed=seed),
    "glorot_normal": lambda seed: tf.compat.v1.glorot_normal_initializer(seed=seed),
    "orthogonal": lambda seed: tf.compat.v1.orthogonal_initializer(seed=seed),
    "zeros": lambda seed: tf.compat.v1.zeros_initializer(),
    "ones": lambda seed: tf.compat.v1.ones_initializer(),
}


def check_initializer(value: str | Callable[..., Any], param: str) -> None:
    """Raise a clear error unless ``value`` is an initializer name or a callable.

    Args:
        value: A name (``"glorot_uniform"``, ``"glorot_normal"``, ``"orthogonal"``, ``"zeros"``,
            ``"ones"``) or a TF1-style initializer ``(shape, dtype) -> Tensor``.
        param: The parameter's name, for the error message.

    Raises:
        ConfigError: If it is neither.
    """
    if isinstance(value, str) and value in _INITIALIZERS:
        return
    if callable(value) and not isinstance(value, str):
        return
    raise ConfigError(f"{param}={value!r} is not an initializer: use one of "
                      f"{sorted(_INITIALIZERS)} or a TF initializer such as "
                      "tf.compat.v1.glorot_uniform_initializer().")


def make_initializer(value: str | Callable[..., Any], seed: int) -> Any:
    """Return a TF initializer; names get an op seed so that a set seed fixes the weights.

    Args:
        value: As for :func:`check_initializer`.
        seed: Op-level seed for named random initializers.
    """
    if isinstance(value, str):
        return _INITIALIZERS[value](seed)
    return value


def check_hidden_sizes(hidden_sizes: Sequence[int], param: str = "hidden_sizes") -> tuple[int, ...]:
    """Return ``hidden_sizes`` as a tuple of positive ints, or raise a clear error.

    Args:
        hidden_sizes: Units of each hidden layer (may be empty).
        param: The parameter's name, for the error message. Default ``"hidden_sizes"``.

    Raises:
        ConfigError: If it is not a sequence of positive integers.
    """
    try:
        sizes = tuple(hidden_sizes)
    except TypeError:
        sizes = None
    if sizes is None or not all(
            isinstance(s, int | np.integer) and not isinstance(s, bool) and s > 0
            for s in sizes):
        raise ConfigError(f"{param}={hidden_sizes!r} is not valid: give a sequence of positive "
                          "layer widths, e.g. (32, 32).")
    return tuple(int(s) for s in sizes)


@dataclass(frozen=True)
class MLP:
    """Structure of a dense network: layer widths, activations, optional layer normalisation.

    Parameters are an ordered list: for each hidden layer ``kernel, bias`` (then ``gamma, beta``
    with layer normalisation, applied after the activation as garage did), then the output
    layer's ``kernel, bias``.

    Attributes:
        input_dim: Width of the input.
        hidden_sizes: Widths of the hidden layers.
        output_dim: Width of the output.
        hidden_nonlinearity: Registered name of the hidden activation, or ``None``.
        output_nonlinearity: Registered name of the output activation, or ``None``.
        layer_normalization: Whether to normalise each hidden layer's output.
    """

    input_dim: int
    hidden_sizes: tuple[int, ...]
    output_dim: int
    hidden_nonlinearity: str | None
    output_nonlinearity: str | None
    layer_normalization: bool = False

    @property
    def n_params(self) -> int:
        """Number of parameter arrays (not values)."""
        per_hidden = 4 if self.layer_normalization else 2
        return per_hidden * len(self.hidden_sizes) + 2

    def create_variables(self, hidden_w_init: Any, hidden_b_init: Any, output_w_init: Any,
                         output_b_init: Any, seeds: Sequence[int],
                         trainable: bool = True) -> list[tf.Variable]:
        """Create the parameters with ``tf.compat.v1.get_variable`` in the current scope.

        Args:
            hidden_w_init: Initializer (name or callable) of hidden kernels.
            hidden_b_init: Initializer of hidden biases.
            output_w_init: Initializer of the output kernel.
            output_b_init: Initializer of the output bias, or a float32 array of
                ``output_dim`` initial values.
            seeds: At least ``len(hidden_sizes) + 1`` op seeds, one per kernel/bias pair.
            trainable: Whether the variables are trainable. Default ``True``.

        Returns:
            The variables, in parameter order.
        """
        variables = []
        fan_in = self.input_dim
        for i, width in enumerate(self.hidden_sizes):
            with tf.compat.v1.variable_scope(f"hidden_{i}"):
                variables.append(tf.compat.v1.get_variable(
                    "kernel", (fan_in, width), tf.float32,
                    make_initializer(hidden_w_init, seeds[i]), trainable=trainable))
                variables.append(tf.compat.v1.get_variable(
                    "bias", (width,), tf.float32,
                    make_initializer(hidden_b_init, seeds[i] + 1), trainable=trainable))
                if self.layer_normalization:
                    variables.append(tf.compat.v1.get_variable(
                        "gamma", (width,), tf.float32, tf.compat.v1.ones_initializer(),
                        trainable=trainable))
                    variables.append(tf.compat.v1.get_variable(
                        "beta", (width,), tf.float32, tf.compat.v1.zeros_initializer(),
                        trainable=trainable))
            fan_in = width
        seed = seeds[len(self.hidden_sizes)]
        if isinstance(output_b_init, np.ndarray):
            b_init = tf.compat.v1.constant_initializer(output_b_init.astype(np.float32))
        else:
            b_init = make_initializer(output_b_init, seed + 1)
        with tf.compat.v1.variable_scope("output"):
            variables.append(tf.compat.v1.get_variable(
                "kernel", (fan_in, self.output_dim), tf.float32,
                make_initializer(output_w_init, seed), trainable=trainable))
            variables.append(tf.compat.v1.get_variable(
                "bias", (self.output_dim,), tf.float32, b_init, trainable=trainable))
        return variables

    def forward_tf(self, x: tf.Tensor, params: Sequence[tf.Variable]) -> tf.Tensor:
        """Apply the network to a ``(batch, input_dim)`` tensor.

        Args:
            x: Float32 input.
            params: The variables from :meth:`create_variables`.
        """
        hidden_act = _NONLINEARITIES[self.hidden_nonlinearity][0] \
            if self.hidden_nonlinearity else None
        step = 4 if self.layer_normalization else 2
        out = x
        for i in range(len(self.hidden_sizes)):
            p = params[i * step:(i + 1) * step]
            out = tf.matmul(out, p[0]) + p[1]
            if hidden_act is not None:
                out = hidden_act(out)
            if self.layer_normalization:
                mean, var = tf.nn.moments(out, axes=[-1], keepdims=True)
                out = (out - mean) * tf.math.rsqrt(var + LAYER_NORM_EPSILON) * p[2] + p[3]
        out = tf.matmul(out, params[-2]) + params[-1]
        if self.output_nonlinearity:
            out = _NONLINEARITIES[self.output_nonlinearity][0](out)
        return out

    def forward_np(self, x: np.ndarray, params: Sequence[np.ndarray]) -> np.ndarray:
        """Apply the network to a ``(batch, input_dim)`` float32 array, with numpy.

        Args:
            x: Float32 input (not modified).
            params: Float32 arrays in parameter order.

        Returns:
            A new ``(batch, output_dim)`` float32 array.
        """
        return NumpyMLP(self, params)(x)


class NumpyMLP:
    """The numpy forward pass of an :class:`MLP` with fixed parameter values.

    Sampling calls this on every environment step, where numpy's per-call overhead (~0.3-1 us a
    call), not arithmetic, is the cost. So biases are folded into the kernels: the first layer
    gets one extra unit whose pre-activation is the constant 1, so it outputs ``k = act(1)``,
    and each later layer reads its bias (divided by ``k``) from that unit and passes the unit
    on. That leaves one dot and one activation per layer (plus one same-shape add for the first
    bias), and gives the same values as the TF graph up to float32 rounding (~1e-7 relative).
    Layer normalisation, or an activation with ``act(1) == 0``, uses the plain pass instead.

    Args:
        mlp: The network's structure.
        params: Float32 arrays in parameter order.
    """

    def __init__(self, mlp: MLP, params: Sequence[np.ndarray]) -> None:
        self.mlp = mlp
        self.params = [np.ascontiguousarray(p, dtype=np.float32) for p in params]
        self._hidden_act = _NONLINEARITIES[mlp.hidden_nonlinearity][1] \
            if mlp.hidden_nonlinearity else None
        self._output_act = _NONLINEARITIES[mlp.output_nonlinearity][1] \
            if mlp.output_nonlinearity else None
        step = 4 if mlp.layer_normalization else 2
        n_hidden = len(mlp.hidden_sizes)
        self._layers = [tuple(self.params[i * step:(i + 1) * step]) for i in range(n_hidden)]
        self._layers.append(tuple(self.params[-2:]))
        k = 1.0
        if self._hidden_act is not None:
            k = float(self._hidden_act(np.ones(1, dtype=np.float32))[0])
        self._folded = None
        if n_hidden and not mlp.layer_normalization and np.isfinite(k) and k != 0.0:
            self._folded = self._fold_biases(np.float32(k))
        self._tiled: dict[int, np.ndarray] = {}

    def _fold_biases(self, k: np.float32) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """Return the first kernel and bias with the constant unit, and the later kernels."""
        w0, b0 = self._layers[0][:2]
        first_w = np.zeros((w0.shape[0], w0.shape[1] + 1), dtype=np.float32)
        first_w[:, :-1] = w0
        first_b = np.append(b0, np.float32(1.0)).astype(np.float32)
        kernels = []
        for i, (w, b) in enumerate(layer[:2] for layer in self._layers[1:]):
            is_output = i == len(self._layers) - 2
            folded = np.zeros((w.shape[0] + 1, w.shape[1] + (0 if is_output else 1)),
                              dtype=np.float32)
            folded[:-1, :w.shape[1]] = w
            folded[-1, :w.shape[1]] = b / k
            if not is_output:
                folded[-1, -1] = 1.0 / k  # keeps the constant unit's pre-activation at 1
            kernels.append(folded)
        return first_w, first_b, kernels

    def _first_bias(self, n: int) -> np.ndarray:
        bias = self._tiled.get(n)
        if bias is None:
            if len(self._tiled) > 16:  # Batch sizes vary only at episode ends; keep it small.
                self._tiled.clear()
            b = self._folded[1] if self._folded is not None else self._layers[0][1]
            bias = np.tile(b, (n, 1))
            self._tiled[n] = bias
        return bias

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Return the ``(batch, output_dim)`` float32 output for a float32 input."""
        if self._folded is None:
            return self._plain(x)
        act = self._hidden_act
        out = np.dot(x, self._folded[0])
        np.add(out, self._first_bias(x.shape[0]), out=out)
        for w in self._folded[2]:
            if act is not None:
                out = act(out)
            out = np.dot(out, w)
        if self._output_act is not None:
            out = self._output_act(out)
        return out

    def _plain(self, x: np.ndarray) -> np.ndarray:
        out = x
        for i, layer in enumerate(self._layers[:-1]):
            out = np.dot(out, layer[0])
            out += self._first_bias(x.shape[0]) if i == 0 else layer[1]
            if self._hidden_act is not None:
                out = self._hidden_act(out)
            if self.mlp.layer_normalization:
                mean = out.mean(axis=-1, keepdims=True)
                var = out.var(axis=-1, keepdims=True)
                out = (out - mean) / np.sqrt(var + LAYER_NORM_EPSILON) * layer[2] + layer[3]
        if len(self._layers) == 1:
            out = np.dot(out, self._layers[-1][0]) + self._first_bias(x.shape[0])
        else:
            out = np.dot(out, self._layers[-1][0]) + self._layers[-1][1]
        if self._output_act is not None:
            out = self._output_act(out)
        return out
