"""NPO: the policy-gradient loss graph that VPG, PPO and TRPO share (garage's ``NPO``).

One epoch: compute advantages and returns with numpy (:mod:`episode_processing`), take the
policy's current action distribution on the batch as the "old" distribution, minimise
``-mean(objective)`` with the configured optimizer, then fit the baseline. The objective is
chosen by ``pg_loss``:

* ``vanilla``: ``log pi(a|s) * A`` (REINFORCE with a baseline; VPG)
* ``surrogate``: ``pi(a|s) / pi_old(a|s) * A`` (TRPO, under a KL limit)
* ``surrogate_clip``: ``min(r A, clip(r, 1 - eps, 1 + eps) A)`` (PPO, Schulman et al. 2017)
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import tensorflow as tf

from trainer.algos.advantages import explained_variance
from trainer.algos.episode_processing import (
    ProcessedEpisodes,
    flatten_actions,
    process_episodes,
)
from trainer.algos.performance import log_performance, new_reward_history
from trainer.errors import ConfigError
from trainer.optimizers import PenaltyLBFGSOptimizer
from trainer.optimizers._graph import compile_callable
from trainer.policies.spaces import ObservationFlattener
from trainer.tf_utils import require_default_session

PG_LOSSES = ("vanilla", "surrogate", "surrogate_clip")
ENTROPY_METHODS = ("max", "regularized", "no_entropy")


def check_entropy_configuration(entropy_method: Any, center_adv: bool,
                                stop_entropy_gradient: bool, policy_ent_coeff: float) -> None:
    """Raise garage's ``ValueError`` s for invalid entropy options (messages keep its text).

    Args:
        entropy_method: ``'max'``, ``'regularized'`` or ``'no_entropy'``.
        center_adv: Whether advantages are centred.
        stop_entropy_gradient: Whether the entropy term is a constant in the loss.
        policy_ent_coeff: The entropy coefficient.

    Raises:
        ConfigError: (a ``ValueError``) on an invalid combination.
    """
    if entropy_method == "max":
        if center_adv:
            raise ConfigError(
                "center_adv should be False when entropy_method is max: got center_adv=True "
                "with entropy_method='max'; pass center_adv=False (centring would cancel the "
                "entropy bonus added to the rewards).")
        if not stop_entropy_gradient:
            raise ConfigError(
                "stop_gradient should be True when entropy_method is max: got "
                "stop_entropy_gradient=False with entropy_method='max'; pass "
                "stop_entropy_gradient=True.")
    elif entropy_method == "no_entropy":
        if policy_ent_coeff != 0.0:
            raise ConfigError(
                "policy_ent_coeff should be zero when there is no entropy method: got "
                f"policy_ent_coeff={policy_ent_coeff!r} with entropy_method='no_entropy'; pass "
                "policy_ent_coeff=0.0 or entropy_method='max' or 'regularized'.")
    elif entropy_method != "regularized":
        raise ConfigError(f"Invalid entropy_method: entropy_method={entropy_method!r}; expected "
                          f"one of {', '.join(repr(m) for m in ENTROPY_METHODS)}.")


def policy_objective(pg_loss: str, log_likelihood: tf.Tensor, old_log_likelihood: tf.Tensor,
                     advantages: tf.Tensor, lr_clip_range: float) -> tf.Tensor:
    """Per-step objective to maximise (see the module docstring).

    Args:
        pg_loss: ``'vanilla'``, ``'surrogate'`` or ``'surrogate_clip'``.
        log_likelihood: ``log pi(a|s)`` under the policy being optimised, ``(N,)``.
        old_log_likelihood: ``log pi_old(a|s)``, ``(N,)``.
        advantages: ``(N,)``.
        lr_clip_range: PPO's ``eps``.
    """
    if pg_loss == "vanilla":
        return log_likelihood * advantages
    ratio = tf.exp(log_likelihood - old_log_likelihood)
    surrogate = ratio * advantages
    if pg_loss == "surrogate":
        return surrogate
    clipped = tf.clip_by_value(ratio, 1.0 - lr_clip_range, 1.0 + lr_clip_range) * advantages
    return tf.minimum(surrogate, clipped)


class NPO:
    """Natural policy optimisation: garage's base of VPG, PPO and TRPO.

    Build it inside ``with TFTrainer(...) as trainer:``; then ``trainer.setup(algo, env)`` and
    ``trainer.train(n_epochs, batch_size)``.

    Args:
        env_spec: Environment spec.
        policy: A trainflow TF policy (e.g. ``CategoricalMLPPolicy``).
        baseline: Value estimator with ``fit(paths)``, ``predict(path)`` and ``name``.
        sampler: Sampler that collects episodes (kept as ``_sampler`` for the trainer).
        scope: Name scope of the loss graph. Default ``None``: ``name``.
        discount: Discount factor ``gamma``. Default 0.99.
        gae_lambda: GAE ``lambda`` in ``[0, 1]``. Default 1.
        center_adv: Normalise advantages to mean 0 and std 1. Default ``True``.
        positive_adv: Shift advantages to be positive. Default ``False``.
        fixed_horizon: Not supported (garage ignored it); must be ``False``.
        pg_loss: ``'vanilla'``, ``'surrogate'`` or ``'surrogate_clip'``. Default ``'surrogate'``.
        lr_clip_range: Clip range ``eps`` of ``'surrogate_clip'``. Default 0.01.
        max_kl_step: KL limit given to the optimizer as its constraint. Default 0.01.
        optimizer: Optimizer class (or instance). Default: the subclass's; for NPO
            :class:`~trainer.optimizers.PenaltyLBFGSOptimizer`.
        optimizer_args: Keyword arguments for ``optimizer``, merged over the defaults.
        policy_ent_coeff: Entropy coefficient. Default 0.
        use_softplus_entropy: Pass the entropy through softplus (keeps it positive).
            Default ``False``.
        use_neg_logli_entropy: Estimate the entropy as ``-log pi(a|s)``. Default ``False``.
        stop_entropy_gradient: Treat the entropy term as a constant. Default ``False``.
        entropy_method: ``'max'`` (add ``policy_ent_coeff * entropy`` to the rewards),
            ``'regularized'`` (add it to the objective) or ``'no_entropy'``. Default
            ``'no_entropy'``.
        name: Name of the algorithm. Default ``"NPO"``.

    Raises:
        ConfigError: (a ``ValueError``) for invalid options, with garage's messages
            (``'Invalid pg_loss'``, ``'Invalid entropy_method'``, ...) plus the fix.
        NoDefaultSessionError: If built outside a default TF session.
    """

    def __init__(
        self,
        env_spec: Any,
        policy: Any,
        baseline: Any,
        sampler: Any,
        scope: str | None = None,
        discount: float = 0.99,
        gae_lambda: float = 1.0,
        center_adv: bool = True,
        positive_adv: bool = False,
        fixed_horizon: bool = False,
        pg_loss: str = "surrogate",
        lr_clip_range: float = 0.01,
        max_kl_step: float = 0.01,
        optimizer: Any = None,
        optimizer_args: dict[str, Any] | None = None,
        policy_ent_coeff: float = 0.0,
        use_softplus_entropy: bool = False,
        use_neg_logli_entropy: bool = False,
        stop_entropy_gradient: bool = False,
        entropy_method: str = "no_entropy",
        name: str = "NPO",
    ) -> None:
        if pg_loss not in PG_LOSSES:
            raise ConfigError(f"Invalid pg_loss: pg_loss={pg_loss!r}; expected one of "
                              f"{', '.join(repr(p) for p in PG_LOSSES)}.")
        check_entropy_configuration(entropy_method, center_adv, stop_entropy_gradient,
                                    policy_ent_coeff)
        _check_range("discount", discount, 0.0, 1.0)
        _check_range("gae_lambda", gae_lambda, 0.0, 1.0)
        if not lr_clip_range > 0:
            raise ConfigError(f"lr_clip_range={lr_clip_range!r} is not valid: it must be > 0, "
                              "e.g. 0.2 for PPO.")
        if not max_kl_step > 0:
            raise ConfigError(f"max_kl_step={max_kl_step!r} is not valid: it must be > 0, "
                              "e.g. 0.01.")
        if fixed_horizon:
            raise ConfigError("fixed_horizon=True is not supported (garage ignored it): leave "
                              "it False; episodes are always processed with their own lengths.")
        require_default_session(type(self).__name__)
        self._env_spec = env_spec
        self.policy = policy
        self._baseline = baseline
        self._sampler = sampler
        self.max_episode_length = getattr(env_spec, "max_episode_length", None)
        self._obs_flattener = ObservationFlattener(policy.observation_space)
        self._scope = scope
        self._name = name
        self._discount = float(discount)
        self._gae_lambda = float(gae_lambda)
        self._center_adv = center_adv
        self._positive_adv = positive_adv
        self._pg_loss = pg_loss
        self._lr_clip_range = float(lr_clip_range)
        self._max_kl_step = float(max_kl_step)
        self._policy_ent_coeff = float(policy_ent_coeff)
        self._use_softplus_entropy = use_softplus_entropy
        self._use_neg_logli_entropy = use_neg_logli_entropy
        self._stop_entropy_gradient = stop_entropy_gradient
        self._entropy_method = entropy_method
        self._optimizer = self._make_optimizer(optimizer, optimizer_args)
        self._episode_reward_mean = new_reward_history()
        self._graph: dict[str, Any] | None = None
        self._build_graph()

    # ------------------------------------------------------------------ construction

    def _default_optimizer(self) -> tuple[type, dict[str, Any]]:
        """Return the optimizer class and default arguments used when none is given."""
        return PenaltyLBFGSOptimizer, {}

    def _make_optimizer(self, optimizer: Any, optimizer_args: dict[str, Any] | None) -> Any:
        if optimizer is not None and not isinstance(optimizer, type):
            if optimizer_args:
                raise ConfigError("optimizer_args cannot be combined with an optimizer "
                                  f"instance ({optimizer!r}): pass the class, or no args.")
            return optimizer
        cls, args = self._default_optimizer()
        if optimizer is not None:
            cls, args = optimizer, {}
        if optimizer_args is not None and not isinstance(optimizer_args, dict):
            raise ConfigError(f"optimizer_args={optimizer_args!r} is not valid: pass a dict of "
                              f"keyword arguments for {cls.__name__}.")
        return cls(**{**args, **(optimizer_args or {})})

    @property
    def baseline(self) -> Any:
        """The value estimator."""
        return self._baseline

    def _build_graph(self) -> None:
        """Build placeholders, loss, optimizer ops and diagnostics in the default graph."""
        sess = require_default_session(type(self).__name__)
        policy = self.policy
        with tf.name_scope(self._scope or self._name):
            obs = tf.compat.v1.placeholder(tf.float32, (None, policy.obs_dim), name="obs")
            discrete = isinstance(policy.action_space, gym.spaces.Discrete)
            actions = tf.compat.v1.placeholder(
                tf.int32 if discrete else tf.float32,
                (None,) if discrete else (None, int(np.prod(policy.action_space.shape))),
                name="actions")
            advantages = tf.compat.v1.placeholder(tf.float32, (None,), name="advantages")
            old_infos = {k: tf.compat.v1.placeholder(tf.float32, (None, *shape), name=f"old_{k}")
                         for k, shape in policy.dist_info_specs.items()}
            dist = policy.build(obs, name="policy_dist")
            old_dist = policy.distribution_from_infos(old_infos)
            log_likelihood = dist.log_prob(actions)
            entropy = self._entropy_term(dist, log_likelihood)
            objective = policy_objective(self._pg_loss, log_likelihood,
                                         old_dist.log_prob(actions), advantages,
                                         self._lr_clip_range)
            if self._entropy_method == "regularized":
                objective += self._policy_ent_coeff * entropy
            loss = -tf.reduce_mean(objective)
            mean_kl = tf.reduce_mean(old_dist.kl_divergence(dist))
            mean_entropy = tf.reduce_mean(dist.entropy())
        inputs = [obs, actions, advantages, *old_infos.values()]
        self._optimizer.update_opt(loss=loss, target=policy, leq_constraint=(mean_kl,
                                   self._max_kl_step), inputs=inputs, constraint_name="mean_kl")
        info_keys = list(old_infos)
        self._graph = {
            "info_keys": info_keys,
            "f_dist": compile_callable(sess, [dist.dist_info[k] for k in info_keys], [obs]),
            "f_entropy": compile_callable(sess, entropy, [obs, actions]),
            "f_diagnostics": compile_callable(sess, [loss, mean_kl, mean_entropy], inputs),
        }

    def _entropy_term(self, dist: Any, log_likelihood: tf.Tensor) -> tf.Tensor:
        entropy = -log_likelihood if self._use_neg_logli_entropy else dist.entropy()
        if self._use_softplus_entropy:
            entropy = tf.nn.softplus(entropy)
        if self._stop_entropy_gradient:
            entropy = tf.stop_gradient(entropy)
        return entropy

    # ------------------------------------------------------------------ training

    def train(self, trainer: Any) -> float | None:
        """Run the trainer's remaining epochs (``trainer.run_epochs(self)``).

        Args:
            trainer: The :class:`~trainer.TFTrainer` this algorithm was set up with.

        Returns:
            The last epoch's average undiscounted return, or ``None`` if no epoch ran.
        """
        return trainer.run_epochs(self)

    def optimize(self, trainer: Any, epoch: int, episodes: Any) -> dict[str, float]:
        """Update the policy and the baseline from one epoch's episodes.

        Args:
            trainer: The trainer (unused; part of the algorithm contract).
            epoch: The epoch index, logged as ``Evaluation/Iteration``.
            episodes: The epoch's :class:`~trainer.episode_batch.EpisodeBatch`.

        Returns:
            The epoch's tabular metrics (garage's keys).
        """
        del trainer
        if self._graph is None:
            self._build_graph()
        metrics = log_performance(epoch, episodes, self._discount,
                                  reward_history=self._episode_reward_mean)
        batch = self._process(episodes)
        metrics.update(self._optimize_policy(batch))
        metrics[f"{self._baseline.name}/ExplainedVariance"] = explained_variance(
            batch.baselines, batch.returns)
        self._baseline.fit(batch.paths)
        return metrics

    def _process(self, episodes: Any) -> ProcessedEpisodes:
        bonus = None
        if self._entropy_method == "max":
            obs = self._obs_flattener.flatten_n(episodes.observations)
            acts = flatten_actions(self.policy.action_space, episodes.actions)
            bonus = self._policy_ent_coeff * self._graph["f_entropy"](obs, acts)
        return process_episodes(
            episodes, self._obs_flattener, self.policy.action_space, self._baseline,
            self._discount, self._gae_lambda, self._center_adv, self._positive_adv, bonus)

    def _optimize_policy(self, batch: ProcessedEpisodes) -> dict[str, float]:
        """One policy update; returns garage's ``<policy>/Loss*, KL*, Entropy, Perplexity``."""
        old_infos = self._graph["f_dist"](batch.observations)
        inputs = [batch.observations, batch.actions, batch.advantages, *old_infos]
        loss_before, kl_before, _ = self._graph["f_diagnostics"](*inputs)
        self._optimizer.optimize(inputs)
        loss_after, kl_after, entropy = self._graph["f_diagnostics"](*inputs)
        self.policy.refresh_numpy_params()
        prefix = self.policy.name
        return {
            f"{prefix}/LossBefore": float(loss_before),
            f"{prefix}/LossAfter": float(loss_after),
            f"{prefix}/dLoss": float(loss_before - loss_after),
            f"{prefix}/KLBefore": float(kl_before),
            f"{prefix}/KL": float(kl_after),
            f"{prefix}/Entropy": float(entropy),
            f"{prefix}/Perplexity": float(np.exp(entropy)),
        }

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_graph"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        sess = tf.compat.v1.get_default_session()
        # Rebuild now when a session is at hand (restoring the optimizer's slots into it);
        # otherwise the first optimize() builds in the session that is current then.
        if sess is not None and sess.graph is tf.compat.v1.get_default_graph():
            self._build_graph()


def _check_range(name: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"{name}={value!r} is not valid: it must be a number in "
                          f"[{low:g}, {high:g}].")
