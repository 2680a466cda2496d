"""Build an experiment (environment, policy, baseline, sampler, algorithm) from JSON parameters.

The flow's parameters are plain names and dicts so Prefect can show them as a form; this registry
turns them into garage-style objects, exactly as a launcher script would::

    env = GymEnv("CartPole-v1")
    policy = CategoricalMLPPolicy(env.spec, hidden_sizes=(32, 32))
    ...
    algo = PPO(env_spec=env.spec, policy=policy, baseline=baseline, sampler=sampler, ...)

Built-in names: ``VPG``, ``PPO``, ``TRPO``, ``CEM``, ``CMAES`` (case-insensitive). Any other
algorithm can be used by name after :func:`register_algo`, or as an import path
``"package.module:builder"`` naming an :data:`AlgoBuilder`. TF objects must be built inside a
``TFTrainer`` context, which :func:`flows.train.train_experiment` opens.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from trainer.errors import ConfigError

#: ``builder(env, algo_kwargs, policy_kwargs) -> algo``: builds an algorithm (with its policy,
#: baseline and sampler) for an environment. ``algo_kwargs`` go to the algorithm's constructor,
#: ``policy_kwargs`` to the policy's.
AlgoBuilder = Callable[[Any, dict[str, Any], dict[str, Any]], Any]

_BUILDERS: dict[str, AlgoBuilder] = {}


def register_algo(name: str, builder: AlgoBuilder) -> None:
    """Make ``builder`` available as ``algo=name`` (case-insensitive) in the flow and the CLI.

    Args:
        name: The algorithm's name, e.g. ``"MyPPO"``.
        builder: See :data:`AlgoBuilder`.
    """
    _BUILDERS[name.upper()] = builder


def algo_names() -> list[str]:
    """The registered algorithm names, sorted."""
    return sorted(_BUILDERS)


def resolve_algo(algo: str) -> AlgoBuilder:
    """Find the builder for ``algo``: a registered name or a ``"module:attribute"`` path.

    Args:
        algo: The flow's ``algo`` parameter.

    Returns:
        The builder.

    Raises:
        ConfigError: If ``algo`` is neither a registered name nor an importable builder.
    """
    if not isinstance(algo, str) or not algo:
        raise ConfigError(f"algo={algo!r} is not valid: pass one of {algo_names()} or a "
                          "'package.module:builder' import path.")
    if algo.upper() in _BUILDERS:
        return _BUILDERS[algo.upper()]
    if ":" not in algo:
        raise ConfigError(f"algo={algo!r} is not a known algorithm: use one of {algo_names()}, "
                          "register yours with flows.experiments.register_algo(), or pass an "
                          "import path 'package.module:builder'.")
    module_name, _, attr = algo.partition(":")
    try:
        builder = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"algo={algo!r} could not be imported ({exc}); check the module path "
                          "and that the module is importable from the flow's working "
                          "directory.") from exc
    if not callable(builder):
        raise ConfigError(f"algo={algo!r} names {builder!r}, which is not callable; it must be "
                          "a builder(env, algo_kwargs, policy_kwargs) -> algo.")
    return builder


def make_env(env: str, max_episode_length: int | None = None) -> Any:
    """Build a gymnasium environment wrapped as the engine's ``GymEnv``.

    Args:
        env: A registered gymnasium id, e.g. ``"CartPole-v1"``.
        max_episode_length: Cut episodes at this length. Default ``None``: the environment's
            own time limit.

    Returns:
        The ``GymEnv``.

    Raises:
        ConfigError: If ``env`` is not a registered gymnasium environment.
    """
    from trainer.envs import GymEnv

    check_env_id(env)
    return GymEnv(env, max_episode_length=max_episode_length)


def check_env_id(env: Any) -> None:
    """Raise ``ConfigError`` unless ``env`` is a registered gymnasium id (nothing is built)."""
    import gymnasium

    if not isinstance(env, str) or env not in gymnasium.registry:
        known = ", ".join(sorted(k for k in gymnasium.registry if "/" not in k)[:12])
        raise ConfigError(f"env={env!r} is not a registered gymnasium environment: pass an id "
                          f"such as {known}, ... (see gymnasium.registry).")


def build_algo(algo: str, env: Any, algo_kwargs: dict[str, Any] | None = None,
               policy_kwargs: dict[str, Any] | None = None) -> Any:
    """Build the algorithm named ``algo`` for ``env`` with the given keyword arguments.

    Args:
        algo: A registered name or ``"module:builder"`` path (see :func:`resolve_algo`).
        env: The environment (a ``GymEnv``).
        algo_kwargs: Extra keyword arguments of the algorithm, e.g. ``{"discount": 0.99}``.
        policy_kwargs: Extra keyword arguments of the policy, e.g. ``{"hidden_sizes": [64, 64]}``.

    Returns:
        The algorithm, ready for ``trainer.setup(algo, env)``.

    Raises:
        ConfigError: If a name is unknown or a keyword argument is not accepted.
    """
    builder = resolve_algo(algo)
    for name, value in (("algo_kwargs", algo_kwargs), ("policy_kwargs", policy_kwargs)):
        if value is not None and not isinstance(value, dict):
            raise ConfigError(f"{name}={value!r} is not valid: pass a dict of keyword arguments "
                              "or None.")
    try:
        return builder(env, dict(algo_kwargs or {}), dict(policy_kwargs or {}))
    except TypeError as exc:
        raise ConfigError(f"algo={algo!r} could not be built with algo_kwargs={algo_kwargs!r}, "
                          f"policy_kwargs={policy_kwargs!r}: {exc}. Check the argument names "
                          "against the algorithm's and the policy's constructors.") from exc


# --------------------------------------------------------------------------- built-in builders


def _policy(env: Any, policy_kwargs: dict[str, Any]) -> Any:
    """A categorical MLP policy for discrete actions, a Gaussian one otherwise."""
    import gymnasium

    from trainer.policies import CategoricalMLPPolicy, GaussianMLPPolicy

    kwargs = {"hidden_sizes": (32, 32), **policy_kwargs}
    if "hidden_sizes" in kwargs:
        kwargs["hidden_sizes"] = tuple(kwargs["hidden_sizes"])  # JSON gives lists.
    if isinstance(env.spec.action_space, gymnasium.spaces.Discrete):
        return CategoricalMLPPolicy(env.spec, **kwargs)
    return GaussianMLPPolicy(env.spec, **kwargs)


def _sampler(env: Any, policy: Any, n_envs: int = 1) -> Any:
    """A local sampler; ``n_envs > 1`` steps that many copies with one batched policy call."""
    from trainer.samplers import DefaultWorker, LocalSampler, VecWorker

    worker = (VecWorker, {"n_envs": n_envs}) if n_envs > 1 else (DefaultWorker, None)
    return LocalSampler(agents=policy, envs=env, max_episode_length=env.spec.max_episode_length,
                        is_tf_worker=True, worker_class=worker[0], worker_args=worker[1])


#: Environment copies a policy-gradient sampler steps together (VecWorker): one batched policy
#: call per step, and gymnasium's numpy-vectorized env where the env has one.
PG_N_ENVS = 8


def _policy_gradient(cls_name: str, defaults: dict[str, Any]) -> AlgoBuilder:
    def build(env: Any, algo_kwargs: dict[str, Any], policy_kwargs: dict[str, Any]) -> Any:
        from trainer.baselines import LinearFeatureBaseline

        algos = importlib.import_module("trainer.algos")
        policy = _policy(env, policy_kwargs)
        return getattr(algos, cls_name)(
            env_spec=env.spec, policy=policy, baseline=LinearFeatureBaseline(env.spec),
            sampler=_sampler(env, policy, n_envs=PG_N_ENVS), **{**defaults, **algo_kwargs})

    build.__doc__ = f"Build {cls_name} with a linear feature baseline and a local sampler."
    return build


def _evolution_strategy(cls_name: str, defaults: dict[str, Any]) -> AlgoBuilder:
    def build(env: Any, algo_kwargs: dict[str, Any], policy_kwargs: dict[str, Any]) -> Any:
        algos = importlib.import_module("trainer.algos")
        policy = _policy(env, policy_kwargs)
        return getattr(algos, cls_name)(env_spec=env.spec, policy=policy,
                                        sampler=_sampler(env, policy),
                                        **{**defaults, **algo_kwargs})

    build.__doc__ = f"Build {cls_name} with a local sampler."
    return build


register_algo("VPG", _policy_gradient("VPG", {"discount": 0.99}))
register_algo("PPO", _policy_gradient("PPO", {"discount": 0.99, "gae_lambda": 0.95,
                                              "lr_clip_range": 0.2}))
register_algo("TRPO", _policy_gradient("TRPO", {"discount": 0.99, "max_kl_step": 0.01}))
register_algo("CEM", _evolution_strategy("CEM", {"n_samples": 20}))
register_algo("CMAES", _evolution_strategy("CMAES", {"n_samples": 20}))
