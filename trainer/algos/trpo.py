"""TRPO: trust region policy optimisation (Schulman et al. 2015, arXiv:1502.05477)."""

from __future__ import annotations

from typing import Any

from trainer.algos.npo import NPO
from trainer.errors import ConfigError
from trainer.optimizers import ConjugateGradientOptimizer, PenaltyLBFGSOptimizer

KL_CONSTRAINTS = ("hard", "soft")


class TRPO(NPO):
    """TRPO: maximise the importance-sampled surrogate subject to ``mean KL <= max_kl_step``.

    ``kl_constraint='hard'`` takes a natural-gradient step with conjugate gradient and a
    backtracking line search that rejects steps over the limit
    (:class:`~trainer.optimizers.ConjugateGradientOptimizer`); ``'soft'`` minimises
    ``loss + penalty * KL`` with L-BFGS and adapts the penalty
    (:class:`~trainer.optimizers.PenaltyLBFGSOptimizer`). ``optimizer_args`` go to that
    optimizer.

    Example (garage's ``trpo_cartpole.py``)::

        with TFTrainer(snapshot_config) as trainer:
            env = GymEnv("CartPole-v1")
            policy = CategoricalMLPPolicy(env.spec, hidden_sizes=(32, 32))
            baseline = LinearFeatureBaseline(env.spec)
            sampler = LocalSampler(agents=policy, envs=env,
                                   max_episode_length=env.spec.max_episode_length)
            algo = TRPO(env.spec, policy, baseline, sampler, discount=0.99, max_kl_step=0.01)
            trainer.setup(algo, env)
            trainer.train(n_epochs=100, batch_size=4000)

    Args:
        env_spec, policy, baseline, sampler, scope, discount, center_adv, positive_adv,
        fixed_horizon, lr_clip_range, max_kl_step, optimizer, optimizer_args,
        policy_ent_coeff, use_softplus_entropy, use_neg_logli_entropy, stop_entropy_gradient,
        entropy_method: As for :class:`~trainer.algos.NPO`.
        gae_lambda: GAE ``lambda``. Default 0.98 (garage's TRPO default).
        kl_constraint: ``'hard'`` or ``'soft'``. Default ``'hard'``.
        name: Name of the algorithm. Default ``"TRPO"``.

    Raises:
        ConfigError: (a ``ValueError``) ``'Invalid kl_constraint'`` for another value, and
            NPO's errors.
    """

    def __init__(
        self,
        env_spec: Any,
        policy: Any,
        baseline: Any,
        sampler: Any,
        scope: str | None = None,
        discount: float = 0.99,
        gae_lambda: float = 0.98,
        center_adv: bool = True,
        positive_adv: bool = False,
        fixed_horizon: bool = False,
        lr_clip_range: float = 0.01,
        max_kl_step: float = 0.01,
        optimizer: Any = None,
        optimizer_args: dict[str, Any] | None = None,
        policy_ent_coeff: float = 0.0,
        use_softplus_entropy: bool = False,
        use_neg_logli_entropy: bool = False,
        stop_entropy_gradient: bool = False,
        kl_constraint: str = "hard",
        entropy_method: str = "no_entropy",
        name: str = "TRPO",
    ) -> None:
        if kl_constraint not in KL_CONSTRAINTS:
            raise ConfigError(f"Invalid kl_constraint: kl_constraint={kl_constraint!r}; expected "
                              "'hard' (conjugate gradient with a line search) or 'soft' "
                              "(penalty with L-BFGS).")
        self._kl_constraint = kl_constraint
        super().__init__(
            env_spec, policy, baseline, sampler, scope=scope, discount=discount,
            gae_lambda=gae_lambda, center_adv=center_adv, positive_adv=positive_adv,
            fixed_horizon=fixed_horizon, pg_loss="surrogate", lr_clip_range=lr_clip_range,
            max_kl_step=max_kl_step, optimizer=optimizer, optimizer_args=optimizer_args,
            policy_ent_coeff=policy_ent_coeff, use_softplus_entropy=use_softplus_entropy,
            use_neg_logli_entropy=use_neg_logli_entropy,
            stop_entropy_gradient=stop_entropy_gradient, entropy_method=entropy_method,
            name=name)

    def _default_optimizer(self) -> tuple[type, dict[str, Any]]:
        if self._kl_constraint == "hard":
            return ConjugateGradientOptimizer, {}
        return PenaltyLBFGSOptimizer, {}
