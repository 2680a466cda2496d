"""The ``train_experiment`` flow: set up or resume an experiment and train it, epoch by epoch.

Resuming is a property of the flow, not of Prefect's cache: every start of the flow function
looks for a complete snapshot in ``snapshot_dir`` and, if there is one, restores it and continues
at the next epoch. A flow retry, a rerun of the deployment, a crashed run rescheduled by an
automation and the same ``trainflow train`` command typed again therefore all resume the same way.
"""

from __future__ import annotations

import os
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows.experiments import build_algo, make_env
from flows.guards import (
    DEFAULT_LOCK_TTL_S,
    DEFAULT_MAX_RESTARTS,
    RestartLimitError,
    check_restart_budget,
    experiment_lock,
)
from tasks.orchestrator import PrefectOrchestrator
from trainer.errors import ConfigError, ExperimentLockedError, SnapshotMismatchError
from trainer.experiment import SnapshotConfig
from trainer.seeding import set_seed

#: Errors that a retry cannot fix: the run fails at once instead of retrying.
PERMANENT_ERRORS = (ConfigError, SnapshotMismatchError, ExperimentLockedError, RestartLimitError)

#: Flow retries (same flow run, same process) after a failure; crashes are healed by automations.
FLOW_RETRIES = 2
FLOW_RETRY_DELAY_S = 10


def _run_name() -> str:
    snapshot_dir = str(flow_run.parameters.get("snapshot_dir") or "experiment").rstrip("/")
    return f"train-{os.path.basename(snapshot_dir) or 'experiment'}"


@flow(name="train-experiment", flow_run_name=_run_name, retries=FLOW_RETRIES,
      retry_delay_seconds=FLOW_RETRY_DELAY_S, persist_result=False)
def train_experiment(
    snapshot_dir: str,
    env: str | None = "CartPole-v1",
    algo: str | None = "PPO",
    n_epochs: int | None = 100,
    batch_size: int | None = 4000,
    seed: int | None = 1,
    snapshot_mode: str = "last",
    snapshot_gap: int = 1,
    algo_kwargs: dict[str, Any] | None = None,
    policy_kwargs: dict[str, Any] | None = None,
    max_episode_length: int | None = None,
    storage_options: dict[str, Any] | None = None,
    max_restarts: int = DEFAULT_MAX_RESTARTS,
) -> float | None:
    """Train an algorithm on a gymnasium environment, resuming from ``snapshot_dir`` if it can.

    Each epoch is the task ``epoch-<n>`` with children ``sample-<n>``, ``optimize-<n>`` and
    ``snapshot-<n>``; progress, metrics table and learning curve are artifacts keyed by the
    experiment.

    Args:
        snapshot_dir: Where snapshots and logs go: a local path or any fsspec URL
            (``s3://bucket/exp``). It names the experiment: one live run per directory.
        env: A gymnasium environment id. When resuming it must be the snapshot's, or ``None``.
            Default ``"CartPole-v1"``.
        algo: ``VPG``, ``PPO``, ``TRPO``, ``CEM``, ``CMAES`` or a ``"module:builder"`` path.
            When resuming a built-in name must be the snapshot's, or ``None``. Default ``"PPO"``.
        n_epochs: Total number of epochs (not the number still to run). ``None`` when resuming
            keeps the snapshot's. Default 100.
        batch_size: Minimum environment steps per epoch. ``None`` when resuming keeps the
            snapshot's. Default 4000.
        seed: Seed of a fresh run (a resumed run continues its saved random states). Default 1.
        snapshot_mode: ``last``, ``all``, ``gap``, ``gap_and_last``, ``gap_overwrite`` or
            ``none`` (``none`` cannot resume). Default ``"last"``.
        snapshot_gap: Epochs between snapshots in the ``gap*`` modes. Default 1.
        algo_kwargs: Keyword arguments of the algorithm, e.g. ``{"discount": 0.99}``.
        policy_kwargs: Keyword arguments of the policy, e.g. ``{"hidden_sizes": [64, 64]}``.
        max_episode_length: Episode length cap. Default ``None``: the environment's limit.
        storage_options: fsspec options for ``snapshot_dir`` (e.g. ``{"endpoint_url": ...}``).
        max_restarts: Restarts of this flow run (retries plus crash reschedules) before it fails
            for good. Default 5.

    Returns:
        The last epoch's average return, like ``Trainer.train`` (``None`` if no epoch ran).
    """
    logger = get_run_logger()
    try:
        check_restart_budget(flow_run.run_count, max_restarts, f"flow run {flow_run.name!r}")
        # A restarted run may find its own dead predecessor's lease on S3: wait for it to lapse.
        wait_s = 0.0 if flow_run.run_count <= 1 else 1.5 * DEFAULT_LOCK_TTL_S
        with experiment_lock(snapshot_dir, storage_options, wait_s=wait_s) as lock, _trainer_for(
                snapshot_dir, snapshot_mode, snapshot_gap, storage_options) as trainer:
            trainer.orchestrator = PrefectOrchestrator(trainer, before_epoch=lock.check)
            last_epoch = trainer.latest_snapshot_epoch(snapshot_dir)
            if last_epoch is not None:
                train_args = trainer.restore(snapshot_dir)
                _check_same_experiment(trainer, snapshot_dir, env, algo)
                total = n_epochs or train_args.n_epochs
                logger.info("Resumed %s from its snapshot of epoch %d: continuing at epoch %d "
                            "of %d (attempt %d).", snapshot_dir, last_epoch,
                            train_args.start_epoch, total, flow_run.run_count)
                return trainer.resume(n_epochs=n_epochs, batch_size=batch_size)
            logger.info("No snapshot in %s: starting %s on %s from epoch 0 (seed %s).",
                        snapshot_dir, algo, env, seed)
            _setup_fresh(trainer, env, algo, seed, algo_kwargs, policy_kwargs,
                         max_episode_length)
            return trainer.train(n_epochs=n_epochs, batch_size=batch_size)
    except PERMANENT_ERRORS:
        _stop_retries()
        raise


def _stop_retries() -> None:
    """Tell the server not to retry this flow run: the error will not go away by retrying.

    Prefect flows have no retry condition; a bad parameter would otherwise be retried
    ``retries`` times, ``retry_delay_seconds`` apart, before the run fails.
    """
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    run = context.flow_run
    policy = run.empirical_policy.model_copy(update={"retries": 0})
    with get_client(sync_client=True) as client:
        client.update_flow_run(run.id, empirical_policy=policy)


def _check_same_experiment(trainer: Any, snapshot_dir: str, env: str | None,
                           algo: str | None) -> None:
    """Refuse to continue another experiment's snapshots under this run's env or algo names."""
    from flows.experiments import algo_names
    from trainer.errors import SnapshotMismatchError

    gym_env = getattr(trainer._env, "gym_env", None)
    saved_env = getattr(getattr(gym_env, "spec", None), "id", None)
    saved_algo = type(trainer._algo).__name__
    if env is not None and saved_env is not None and env != saved_env:
        raise SnapshotMismatchError(
            f"{snapshot_dir} holds a run on env {saved_env!r}, not {env!r}: pass env={saved_env!r} "
            "(or env=None, as `trainflow resume` does) to continue it, or use another "
            "snapshot_dir for a new experiment.")
    if (algo is not None and algo.upper() in {name.upper() for name in algo_names()}
            and algo.upper() != saved_algo.upper()):
        raise SnapshotMismatchError(
            f"{snapshot_dir} holds a {saved_algo} run, not {algo}: pass algo={saved_algo!r} (or "
            "algo=None) to continue it, or use another snapshot_dir for a new experiment.")


def _trainer_for(snapshot_dir: str, snapshot_mode: str, snapshot_gap: int,
                 storage_options: dict[str, Any] | None) -> Any:
    """A fresh ``TFTrainer`` (new graph and session) for this attempt of the flow."""
    from trainer.tf_trainer import TFTrainer

    return TFTrainer(SnapshotConfig(snapshot_dir, snapshot_mode, snapshot_gap, storage_options))


def _setup_fresh(trainer: Any, env: str | None, algo: str | None, seed: int | None,
                 algo_kwargs: dict[str, Any] | None, policy_kwargs: dict[str, Any] | None,
                 max_episode_length: int | None) -> None:
    from trainer.errors import ConfigError

    for name, value in (("env", env), ("algo", algo)):
        if value is None:
            raise ConfigError(f"{name}=None is only valid when snapshot_dir holds a snapshot to "
                              f"resume; this one holds none. Pass {name} to start a new run.")
    if seed is not None:
        set_seed(seed)
    environment = make_env(env, max_episode_length)
    trainer.setup(build_algo(algo, environment, algo_kwargs, policy_kwargs), environment)
