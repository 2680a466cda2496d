"""TFModule: the lifecycle shared by TF policies and baselines.

A module owns an ordered list of TF1 variables in one variable scope of the default graph, and a
numpy copy of their values. The numpy copy is what fast paths (sampling, prediction) read and
what pickles: ``__getstate__`` keeps numpy values and drops every graph handle, ``__setstate__``
rebuilds the variables in the current default graph and assigns the values (garage's design,
without its #1787 failure: scopes are uniquified, so a graph that already holds a module of the
same name is fine). Unpickled where no TF session is the default (e.g. a sampler process), a
module works from its numpy copy and builds its graph on the first use that needs TF.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from trainer import seeding
from trainer.errors import ConfigError
from trainer.tf_utils import (
    FlatParameters,
    flatten_arrays,
    require_default_session,
    session_is_usable,
    unflatten_array,
)

_NAME_RE = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\-]*$")


class GraphHandles:
    """Everything a built module holds in a graph; dropped when pickling.

    Attributes:
        session: The session the variables live in.
        scope: The module's (uniquified) variable scope.
        variables: All the module's parameter variables, in parameter order.
        trainable: The trainable subset, in the same order.
        flat_all: Flat get/set of ``variables``.
        flat_trainable: Flat get/set of ``trainable``.
        extra: Subclass-specific ops and callables.
    """

    def __init__(self, session: tf.compat.v1.Session, scope: tf.compat.v1.VariableScope,
                 variables: list[tf.Variable]) -> None:
        self.session = session
        self.scope = scope
        self.variables = variables
        self.trainable = [v for v in variables if v.trainable]
        with tf.compat.v1.name_scope(scope.original_name_scope):
            self.flat_all = FlatParameters(variables)
            self.flat_trainable = FlatParameters(self.trainable)
        self.extra: dict[str, Any] = {}


def check_name(name: str) -> str:
    """Return ``name`` if it can name a TF variable scope, else raise a clear error.

    Args:
        name: The module's name.

    Raises:
        ConfigError: If the name is empty or has characters TF scopes do not allow.
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(f"name={name!r} is not valid: use letters, digits, '_', '.' or '-', "
                          "starting with a letter or digit, e.g. name='policy'.")
    return name


def seed_sequence(name: str, seed: int | None = None) -> np.random.SeedSequence:
    """Return the seed sequence of a module: the global seed salted with the module's name.

    Args:
        name: The module's name; different names give independent streams.
        seed: Base seed. Default ``None``: :func:`trainer.seeding.get_seed`, or fresh entropy
            if no seed was set.
    """
    seed = seeding.get_seed() if seed is None else seed
    if seed is None:
        return np.random.SeedSequence()
    return np.random.SeedSequence([int(seed), zlib.crc32(name.encode())])


class TFModule:
    """Base class of components whose parameters are TF variables mirrored in numpy.

    Subclasses implement :meth:`_create_variables` and may override :meth:`_build_extra`,
    :meth:`_on_values_changed`, :meth:`_read_extra_state`.

    Args:
        name: Name of the module and of its variable scope (uniquified if taken).
    """

    # Attributes derived from the numpy copy by _on_values_changed; not pickled.
    _transient: tuple[str, ...] = ()

    def __init__(self, name: str) -> None:
        self._name = check_name(name)
        self._tf: GraphHandles | None = None
        self._np_values: list[np.ndarray] = []
        self._trainable_mask: list[bool] = []
        self._init_seeds = seed_sequence(name).spawn(1)[0].generate_state(64).tolist()

    # -- subclass hooks ------------------------------------------------------------------------

    def _create_variables(self) -> list[tf.Variable]:
        """Create and return the parameter variables, in parameter order (in the scope)."""
        raise NotImplementedError

    def _build_extra(self, handles: GraphHandles) -> None:
        """Build ops beyond the parameters (e.g. training ops); called once per build."""

    def _on_values_changed(self) -> None:
        """React to a new numpy copy (e.g. refresh caches derived from it)."""

    def _read_extra_state(self, sess: tf.compat.v1.Session) -> None:
        """Read graph state beyond the parameters into numpy (e.g. optimizer slots)."""

    # -- lifecycle -----------------------------------------------------------------------------

    def _build(self) -> None:
        """Create the variables in the default session, assigning the numpy copy if any."""
        sess = require_default_session(type(self).__name__)
        with tf.compat.v1.variable_scope(None, default_name=self._name) as scope:
            variables = self._create_variables()
        sess.run(tf.compat.v1.variables_initializer(variables))
        handles = GraphHandles(sess, scope, variables)
        if self._np_values:
            handles.flat_all.set(sess, flatten_arrays(self._np_values))
        self._trainable_mask = [v.trainable for v in variables]
        self._tf = handles
        self._build_extra(handles)
        self._read_values()

    def _live(self) -> GraphHandles | None:
        """Return the graph handles if the module is built in a session that is still open."""
        handles = self._tf
        if handles is not None and session_is_usable(handles.session):
            return handles
        return None

    def _ensure_built(self) -> GraphHandles:
        """Return live graph handles, building in the default session if needed."""
        handles = self._live()
        if handles is None:
            self._build()
            handles = self._tf
        return handles

    def _read_values(self) -> None:
        """Refresh the numpy copy (and extra state) from the graph, if the graph is live."""
        handles = self._live()
        if handles is None:
            return
        self._np_values = [np.asarray(v, dtype=np.float32)
                           for v in handles.session.run(handles.variables)]
        self._read_extra_state(handles.session)
        self._on_values_changed()

    # -- public API ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The name given at construction (the variable scope may carry a ``_N`` suffix)."""
        return self._name

    @property
    def scope_name(self) -> str:
        """The variable scope the module's variables live in (building it if needed)."""
        return self._ensure_built().scope.name

    def get_trainable_vars(self) -> list[tf.Variable]:
        """Return the trainable variables, in parameter order (building if needed)."""
        return list(self._ensure_built().trainable)

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        """The trainable variables, in parameter order."""
        return self.get_trainable_vars()

    def get_global_vars(self) -> list[tf.Variable]:
        """Return all parameter variables, trainable or not, in parameter order."""
        return list(self._ensure_built().variables)

    def _trainable_shapes(self) -> list[tuple[int, ...]]:
        return [a.shape for a, t in zip(self._np_values, self._trainable_mask) if t]

    def get_param_values(self) -> np.ndarray:
        """Return the trainable parameters as one flat float32 vector, in a fixed order.

        Reads the graph when it is live (and refreshes the numpy copy on the way).
        """
        self._read_values()
        return flatten_arrays([a for a, t in zip(self._np_values, self._trainable_mask) if t])

    def set_param_values(self, flat: np.ndarray) -> None:
        """Assign the trainable parameters from a flat vector and refresh the numpy copy.

        Args:
            flat: Vector of the size :meth:`get_param_values` returns.

        Raises:
            ConfigError: If ``flat`` has another size (the message names both).
        """
        arrays = iter(unflatten_array(np.asarray(flat, dtype=np.float32),
                                      self._trainable_shapes(), name="param_values"))
        handles = self._live()
        if handles is not None:
            handles.flat_trainable.set(handles.session, flat, name="param_values")
        self._np_values = [next(arrays) if t else a
                           for a, t in zip(self._np_values, self._trainable_mask)]
        self._on_values_changed()

    def refresh_numpy_params(self) -> None:
        """Copy the variables' current values into the numpy copy used by fast paths.

        Call it after optimising the variables in TF (once per epoch); ``get_param_values`` and
        pickling do it too.
        """
        self._read_values()

    def _all_values(self) -> list[np.ndarray]:
        self._read_values()
        return [a.copy() for a in self._np_values]

    def _assign_all_values(self, values: Sequence[np.ndarray]) -> None:
        handles = self._ensure_built()
        handles.flat_all.set(handles.session, flatten_arrays(values))
        self._read_values()

    def __getstate__(self) -> dict[str, Any]:
        self._read_values()
        state = self.__dict__.copy()
        state["_tf"] = None
        for key in self._transient:
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._tf = None
        self._on_values_changed()
        sess = tf.compat.v1.get_default_session()
        if session_is_usable(sess) and sess.graph is tf.compat.v1.get_default_graph():
            self._build()
