"""Policy: what every TF policy shares (spaces, seeded numpy sampling, build, clone)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import tensorflow as tf

from trainer.errors import ConfigError
from trainer.policies.distributions import Distribution
from trainer.policies.spaces import ObservationFlattener
from trainer.policies.tf_module import TFModule, seed_sequence


class Policy(TFModule):
    """Base class of TF policies that sample actions with numpy.

    Subclasses set :attr:`distribution_cls` and implement :meth:`_dist_params_np`,
    :meth:`_sample_np` and :meth:`_build_distribution`.

    Args:
        env_spec: Anything with gymnasium ``observation_space`` and ``action_space``
            (normally a :class:`trainer.EnvSpec`).
        name: Name of the policy and of its variable scope.

    Attributes:
        vectorized: Always ``True``: :meth:`get_actions` takes a batch.
        distribution_cls: The :class:`~trainer.policies.distributions.Distribution` subclass
            of :meth:`build` and :meth:`distribution_from_infos`.
    """

    vectorized: ClassVar[bool] = True
    distribution_cls: ClassVar[type[Distribution]] = Distribution

    def __init__(self, env_spec: Any, name: str) -> None:
        super().__init__(name)
        for attr in ("observation_space", "action_space"):
            if not hasattr(env_spec, attr):
                raise ConfigError(f"env_spec={env_spec!r} has no {attr}: pass env.spec of a "
                                  "trainflow environment (an EnvSpec).")
        self._env_spec = env_spec
        self._obs_flattener = ObservationFlattener(env_spec.observation_space)
        # The policy's own stream: pickled with it, so a resumed run samples the same actions.
        self._rng = np.random.default_rng(seed_sequence(name).spawn(2)[1])

    # -- subclass hooks ------------------------------------------------------------------------

    def _dist_params_np(self, flat_obs: np.ndarray) -> dict[str, np.ndarray]:
        """Return the agent_infos of a batch of flat observations, with numpy."""
        raise NotImplementedError

    def _sample_np(self, infos: dict[str, np.ndarray]) -> np.ndarray:
        """Draw one action per row of ``infos`` from :attr:`_rng`."""
        raise NotImplementedError

    def _build_distribution(self, flat_obs: tf.Tensor) -> Distribution:
        """Return the distribution of a ``(batch, obs_dim)`` float32 tensor."""
        raise NotImplementedError

    # -- spaces --------------------------------------------------------------------------------

    @property
    def env_spec(self) -> Any:
        """The environment spec the policy was built for."""
        return self._env_spec

    @property
    def observation_space(self) -> gym.Space:
        """The environment's observation space."""
        return self._env_spec.observation_space

    @property
    def action_space(self) -> gym.Space:
        """The environment's action space."""
        return self._env_spec.action_space

    @property
    def obs_dim(self) -> int:
        """Width of a flattened observation (the last axis of ``build``'s input)."""
        return self._obs_flattener.flat_dim

    @property
    def dist_info_specs(self) -> dict[str, tuple[int, ...]]:
        """Per-step shape of each agent_infos entry, e.g. ``{"prob": (2,)}``."""
        raise NotImplementedError

    # -- numpy sampling ------------------------------------------------------------------------

    def get_actions(self, observations: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Sample one action per observation, with numpy (never calls TensorFlow).

        Args:
            observations: ``N`` observations of the observation space (a list or an array).

        Returns:
            The ``(N, ...)`` actions and the agent_infos, a dict of ``(N, ...)`` arrays.
        """
        infos = self._dist_params_np(self._obs_flattener.flatten_n(observations))
        return self._sample_np(infos), infos

    def get_action(self, observation: Any) -> tuple[Any, dict[str, np.ndarray]]:
        """Sample an action for one observation.

        Args:
            observation: One observation of the observation space.

        Returns:
            The action and its agent_info (a dict of arrays without the batch axis).
        """
        infos = self._dist_params_np(self._obs_flattener.flatten(observation))
        actions = self._sample_np(infos)
        return actions[0], {k: v[0] for k, v in infos.items()}

    def reset(self, do_resets: np.ndarray | list[bool] | None = None) -> None:
        """Reset the policy's per-episode state; MLP policies have none.

        Args:
            do_resets: Which of the parallel episodes are reset. Default ``None``: all.
        """

    # -- symbolic side -------------------------------------------------------------------------

    def build(self, obs_var: tf.Tensor, name: str | None = None) -> Distribution:
        """Return the symbolic distribution of a batch of flat observations.

        Reuses the policy's variables, so gradients of anything built from the result flow
        into :meth:`get_trainable_vars`.

        Args:
            obs_var: Float tensor of shape ``(N, obs_dim)`` or padded ``(N, T, obs_dim)``
                in the default graph, holding flattened observations.
            name: Name scope of the new ops. Default ``None``: ``"build"``.

        Returns:
            A distribution whose tensors have ``obs_var``'s leading shape.

        Raises:
            ConfigError: If ``obs_var`` has another rank or last dimension.
            NoDefaultSessionError: If the policy must be built and there is no session.
        """
        handles = self._ensure_built()
        obs_var = tf.convert_to_tensor(obs_var)
        rank = obs_var.shape.rank
        if rank not in (2, 3) or obs_var.shape[-1] != self.obs_dim:
            raise ConfigError(
                f"obs_var has shape {obs_var.shape}, but {self.name}.build needs "
                f"(N, {self.obs_dim}) or (N, T, {self.obs_dim}) flattened observations.")
        with tf.compat.v1.name_scope(handles.scope.original_name_scope), \
                tf.name_scope(name or "build"):
            flat = tf.cast(obs_var, tf.float32)
            if rank == 3:
                flat = tf.reshape(flat, (-1, self.obs_dim))
            dist = self._build_distribution(flat)
            if rank == 3:
                lead = tf.shape(obs_var)[:2]
                dist = self.distribution_cls(**{
                    k: tf.reshape(v, tf.concat([lead, tf.shape(v)[1:]], axis=0))
                    for k, v in self._reshape_source(dist).items()})
        return dist

    def _reshape_source(self, dist: Distribution) -> dict[str, tf.Tensor]:
        """Return constructor arguments of ``dist`` to reshape for padded inputs."""
        return dist.dist_info

    def distribution_from_infos(self, infos: Mapping[str, tf.Tensor]) -> Distribution:
        """Build a distribution from agent_infos tensors (the old policy of an update).

        Args:
            infos: Tensors keyed like :attr:`dist_info_specs`, e.g. placeholders.
        """
        return self.distribution_cls.from_infos(infos)

    # -- copies --------------------------------------------------------------------------------

    def _hyperparameters(self) -> dict[str, Any]:
        """Constructor keyword arguments (except env_spec and name) that recreate the policy."""
        raise NotImplementedError

    def clone(self, name: str) -> Policy:
        """Return a policy of the same class and hyperparameters, with new variables.

        The clone's parameters equal this policy's values now (garage's ``old_policy``).

        Args:
            name: Name of the clone, e.g. ``"old_policy"``.
        """
        new = type(self)(self._env_spec, name=name, **self._hyperparameters())
        new._assign_all_values(self._all_values())
        return new
