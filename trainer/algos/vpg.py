"""VPG: vanilla policy gradient (REINFORCE with a baseline; Williams 1992)."""

from __future__ import annotations

from typing import Any

from trainer.algos.npo import NPO
from trainer.optimizers import FirstOrderOptimizer


class VPG(NPO):
    """Vanilla policy gradient: one Adam step on ``-mean(log pi(a|s) * A)`` per epoch.

    garage's ``VPG``: ``pg_loss='vanilla'`` and a :class:`~trainer.optimizers.FirstOrderOptimizer`
    with ``batch_size=None`` (the whole epoch is one batch) and ``max_optimization_epochs=1``,
    over which ``optimizer_args`` are merged (e.g. ``optimizer_args={"learning_rate": 0.01}``).

    Example::

        with TFTrainer(snapshot_config) as trainer:
            env = GymEnv("CartPole-v1")
            policy = CategoricalMLPPolicy(env.spec, hidden_sizes=(32, 32))
            baseline = LinearFeatureBaseline(env.spec)
            sampler = LocalSampler(agents=policy, envs=env,
                                   max_episode_length=env.spec.max_episode_length)
            algo = VPG(env.spec, policy, baseline, sampler, discount=0.99,
                       optimizer_args={"learning_rate": 0.01})
            trainer.setup(algo, env)
            trainer.train(n_epochs=100, batch_size=10000)

    Args:
        env_spec, policy, baseline, sampler, scope, discount, gae_lambda, center_adv,
        positive_adv, fixed_horizon, lr_clip_range, max_kl_step, optimizer, optimizer_args,
        policy_ent_coeff, use_softplus_entropy, use_neg_logli_entropy, stop_entropy_gradient,
        entropy_method: As for :class:`~trainer.algos.NPO`.
        name: Name of the algorithm. Default ``"VPG"``.
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
        name: str = "VPG",
    ) -> None:
        super().__init__(
            env_spec, policy, baseline, sampler, scope=scope, discount=discount,
            gae_lambda=gae_lambda, center_adv=center_adv, positive_adv=positive_adv,
            fixed_horizon=fixed_horizon, pg_loss="vanilla", lr_clip_range=lr_clip_range,
            max_kl_step=max_kl_step, optimizer=optimizer, optimizer_args=optimizer_args,
            policy_ent_coeff=policy_ent_coeff, use_softplus_entropy=use_softplus_entropy,
            use_neg_logli_entropy=use_neg_logli_entropy,
            stop_entropy_gradient=stop_entropy_gradient, entropy_method=entropy_method,
            name=name)

    def _default_optimizer(self) -> tuple[type, dict[str, Any]]:
        return FirstOrderOptimizer, {"batch_size": None, "max_optimization_epochs": 1}
