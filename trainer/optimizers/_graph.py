"""Graph helpers shared by the optimizers: flat gradients, the target protocol, seeded shuffling."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import config_pb2

from trainer.errors import ConfigError
from trainer.seeding import get_seed


class Parameterized(Protocol):
    """What an optimizer needs from the object it trains (a policy, a baseline's regressor)."""

    def get_trainable_vars(self) -> list[tf.Variable]:
        """Return the variables to optimise, in the order of the flat parameter vector."""
        ...

    def get_param_values(self) -> np.ndarray:
        """Return the trainable variables' values as one flat vector."""
        ...

    def set_param_values(self, flat: np.ndarray) -> None:
        """Assign the trainable variables from one flat vector."""
        ...


def flat_gradient(loss: tf.Tensor, params: Sequence[tf.Variable]) -> tf.Tensor:
    """Return ``d loss / d params`` as one flat vector (zeros where ``loss`` does not depend).

    Args:
        loss: A scalar tensor.
        params: Variables, in the order of the flat vector.
    """
    grads = tf.gradients(loss, list(params))
    grads = [tf.zeros_like(p) if g is None else g for g, p in zip(grads, params)]
    return tf.concat([tf.reshape(g, [-1]) for g in grads], axis=0)


def make_rng(salt: int) -> np.random.Generator:
    """Return a numpy generator seeded from the global seed (if any) and ``salt``.

    Optimizers own their generators and pickle them, so a resumed run shuffles minibatches and
    subsamples exactly as the uninterrupted run would.

    Args:
        salt: Distinguishes generators created under the same global seed.
    """
    seed = get_seed()
    return np.random.default_rng(None if seed is None else [seed, salt])


def check_inputs(inputs: Sequence[np.ndarray], n_placeholders: int, owner: str) -> list[np.ndarray]:
    """Check that ``optimize`` got one array per input placeholder, all with the same length.

    Args:
        inputs: The arrays passed to ``optimize``/``loss``.
        n_placeholders: Number of input placeholders given to ``update_opt``.
        owner: The optimizer's class name, for the message.

    Returns:
        The inputs as a list.

    Raises:
        ConfigError: On a wrong count or mismatched lengths.
    """
    inputs = list(inputs)
    if len(inputs) != n_placeholders:
        raise ConfigError(
            f"{owner}.optimize got {len(inputs)} input arrays but update_opt() was given "
            f"{n_placeholders} input placeholders: pass one array per placeholder, in order.")
    lengths = {len(x) for x in inputs}
    if len(lengths) > 1:
        raise ConfigError(
            f"{owner}.optimize got inputs of different lengths {sorted(lengths)}: every input "
            "must have one row per sample.")
    return inputs


def sliced_mean(f: Callable[..., Any], inputs: Sequence[np.ndarray],
                extra_inputs: Sequence[Any], num_slices: int) -> Any:
    """Evaluate ``f`` on ``num_slices`` slices of ``inputs`` and average the results by size.

    Bounds memory on large batches (garage's ``sliced_fun``); ``f`` must return a mean over the
    rows it was given (or a tuple/array of such means).

    Args:
        f: Compiled callable taking ``*inputs, *extra_inputs``.
        inputs: Arrays with one row per sample.
        extra_inputs: Arguments passed whole to every call.
        num_slices: Number of slices (1 evaluates the whole batch in one call).
    """
    n = len(inputs[0]) if inputs else 0
    if num_slices <= 1 or n <= 1:
        return f(*inputs, *extra_inputs)
    bounds = np.linspace(0, n, min(num_slices, n) + 1).astype(int)
    total = None
    for a, b in zip(bounds, bounds[1:]):
        out = f(*[x[a:b] for x in inputs], *extra_inputs)
        part = np.asarray(out, dtype=np.float64) * (b - a) / n
        total = part if total is None else total + part
    return total


def compile_callable(
    sess: tf.compat.v1.Session,
    fetches: tf.Tensor | tf.Operation | Sequence[tf.Tensor | tf.Operation],
    feeds: Sequence[tf.Tensor],
) -> Callable[..., Any]:
    """Compile ``fetches`` as a session callable taking the ``feeds`` values positionally.

    ``Session.make_callable`` with a feed list falls back to a full ``Session.run`` per call in
    TF 2.x (fetch handler and feed-dict processing, ~0.3 ms); a callable made from
    ``CallableOptions`` (what Keras' TF1 backend used) skips that work, which halves the cost of
    a small PPO minibatch step. Values are cast to the placeholders' dtypes.

    Args:
        sess: The session holding the graph.
        fetches: A tensor or op, or a list of them; ops are run and return ``None``.
        feeds: Placeholders, in the order the callable takes their values.

    Returns:
        ``f(*values)`` returning the fetched value (one fetch) or a list (a list of fetches).
    """
    single = not isinstance(fetches, list | tuple)
    fetch_list = [fetches] if single else list(fetches)
    options = config_pb2.CallableOptions()
    options.feed.extend(feed.name for feed in feeds)
    slots = []
    for fetch in fetch_list:
        if isinstance(fetch, tf.Operation):
            options.target.append(fetch.name)
            slots.append(None)
        else:
            slots.append(len(options.fetch))
            options.fetch.append(fetch.name)
    run = sess._make_callable_from_options(options)
    dtypes = [feed.dtype.as_numpy_dtype for feed in feeds]

    def call(*values: Any) -> Any:
        results = run(*[np.asarray(v, dtype=d) for v, d in zip(values, dtypes)])
        out = [None if slot is None else results[slot] for slot in slots]
        return out[0] if single else out

    return call
