"""PPO: proximal policy optimisation with the clipped surrogate (Schulman et al. 2017)."""

from __future__ import annotations

from typing import Any

from trainer.algos.npo import NPO
from trainer.optimizers import FirstOrderOptimizer


class PPO(NPO):
    """PPO: several epochs of Adam minibatch steps on the clipped surrogate objective.

    ``L = -mean(min(r A, clip(r, 1 - lr_clip_range, 1 + lr_clip_range) A))`` with
    ``r = pi(a|s) / pi_old(a|s)``, where ``pi_old`` is the policy before this epoch's update.
    The default optimizer is :class:`~trainer.optimizers.FirstOrderOptimizer` with
    ``batch_size=32`` and ``max_optimization_epochs=10`` (garage's), over which
    ``optimizer_args`` are merged, e.g. rl-zoo3's CartPole settings::

        PPO(env.spec, policy, baseline, sampler, discount=0.98, gae_lambda=0.8,
            lr_clip_range=0.2, optimizer_args={"learning_rate": 1e-3, "batch_size": 256,
                                               "max_optimization_epochs": 20})

    Args:
        env_spec, policy, baseline, sampler, scope, discount, gae_lambda, center_adv,
        positive_adv, fixed_horizon, max_kl_step, optimizer, optimizer_args,
        policy_ent_coeff, use_softplus_entropy, use_neg_logli_entropy, stop_entropy_gradient,
        entropy_method: As for :class:`~trainer.algos.NPO`.
        lr_clip_range: The clip range ``eps``. Default 0.01 (garage's; 0.2 is the paper's).
        name: Name of the algorithm. Default ``"PPO"``.
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
        lr_clip_range: float = 0.01,
        max_kl_step: float = 0.01,
        optimizer: Any = None,
        optimizer_args: dict[str, Any] | None = None,
        policy_ent_coeff: float = 0.0,
        use_softplus_entropy: bool = False,
        use_neg_logli_entropy: bool = False,
        stop_entropy_gradient: bool = False,
        entropy_method: str = "no_entropy",
        name: str = "PPO",
    ) -> None:
        super().__init__(
            env_spec, policy, baseline, sampler, scope=scope, discount=discount,
            gae_lambda=gae_lambda, center_adv=center_adv, positive_adv=positive_adv,
            fixed_horizon=fixed_horizon, pg_loss="surrogate_clip", lr_clip_range=lr_clip_range,
            max_kl_step=max_kl_step, optimizer=optimizer, optimizer_args=optimizer_args,
            policy_ent_coeff=policy_ent_coeff, use_softplus_entropy=use_softplus_entropy,
            use_neg_logli_entropy=use_neg_logli_entropy,
            stop_entropy_gradient=stop_entropy_gradient, entropy_method=entropy_method,
            name=name)

    def _default_optimizer(self) -> tuple[type, dict[str, Any]]:
        return FirstOrderOptimizer, {"batch_size": 32, "max_optimization_epochs": 10}
