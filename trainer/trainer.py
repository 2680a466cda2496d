"""The Trainer: runs an algorithm's epochs, counts steps, logs, snapshots, restores and resumes.

It keeps garage's public API and semantics (``setup``, ``train``, ``step_epochs``,
``obtain_episodes``, ``save``, ``restore``, ``resume``) and differs where garage had bugs:

* ``Trainer(None)`` builds a default config (garage's docstring promised it, its code crashed);
* every snapshot also carries the random generators' *states*, and ``restore()`` puts them back
  instead of re-seeding from the original seed, so a resumed run continues the same random draws;
* each epoch's tabular row is logged *before* its snapshot is written, and ``restore()`` drops the
  rows of epochs that have no snapshot, so ``progress.csv`` ends with every epoch exactly once;
* workers are shut down even when the algorithm raises (garage #1293);
* ``experiment.json`` can never abort training (garage #2328).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import cloudpickle

from trainer.episode_batch import EpisodeBatch
from trainer.errors import ConfigError, NotSetupError, TrainingInterrupted
from trainer.experiment import (
    ExperimentStats,
    SnapshotConfig,
    TrainArgs,
    check_batch_size,
    check_n_epochs,
    describe,
)
from trainer.logs import ExperimentLogger
from trainer.orchestration import InlineOrchestrator, Orchestrator, Phase, discover_orchestrator
from trainer.seeding import get_rng_state, get_seed, set_rng_state, set_seed
from trainer.snapshots import Snapshotter
from trainer.stop_request import StopRequest

T = TypeVar("T")
_log = logging.getLogger("trainflow")

#: Snapshot keys garage wrote; trainflow adds ``rng_state``.
SNAPSHOT_KEYS = ("seed", "train_args", "stats", "env", "algo", "n_workers", "worker_class",
                 "worker_args")
AVERAGE_RETURN_KEY = "Evaluation/AverageReturn"


def _default_snapshot_dir() -> str:
    return os.path.join(os.getcwd(), "data", "local", "experiment")


class Trainer:
    """Runs an algorithm's training loop, with logging, snapshots and resume.

    Use it like garage's::

        trainer = Trainer(SnapshotConfig("data/local/my_exp"))
        trainer.setup(algo, env)
        trainer.train(n_epochs=100, batch_size=4000)

    Args:
        snapshot_config: Where and how often to save snapshots: a :class:`SnapshotConfig` or any
            object with ``snapshot_dir``, ``snapshot_mode`` and ``snapshot_gap`` attributes (and
            optionally ``storage_options``). Default ``None``: ``SnapshotConfig(
            "<cwd>/data/local/experiment")``, mode ``last``.

    Attributes:
        step_itr: The algorithm's iteration counter; it continues across restore.
        step_episode: The episodes of the current epoch (set by the algorithm or ``run_epochs``).
        enable_logging: Whether epochs dump diagnostics (off-policy algorithms toggle it).
        orchestrator: An :class:`~trainer.orchestration.Orchestrator` that wraps each epoch and
            phase; ``None`` (default) discovers one (e.g. Prefect inside a flow run) or runs
            inline.
    """

    def __init__(self, snapshot_config: SnapshotConfig | Any | None = None) -> None:
        if snapshot_config is None:
            snapshot_config = SnapshotConfig(_default_snapshot_dir())
        for attr in ("snapshot_dir", "snapshot_mode", "snapshot_gap"):
            if not hasattr(snapshot_config, attr):
                raise ConfigError(
                    f"snapshot_config={snapshot_config!r} has no attribute {attr!r}: pass a "
                    "trainer.SnapshotConfig(snapshot_dir, snapshot_mode, snapshot_gap) or None.")
        self._snapshot_config = snapshot_config
        self._snapshotter = Snapshotter(
            snapshot_config.snapshot_dir, snapshot_config.snapshot_mode,
            snapshot_config.snapshot_gap,
            storage_options=getattr(snapshot_config, "storage_options", None))
        self._logger: ExperimentLogger | None = None

        self._has_setup = False
        self._plot = False
        self._seed: int | None = None
        self._train_args: TrainArgs | None = None
        self._stats = ExperimentStats()
        self._algo: Any = None
        self._env: Any = None
        self._sampler: Any = None
        self._start_time: float | None = None
        self._itr_start_time: float | None = None
        self.step_itr: int | None = None
        self.step_episode: EpisodeBatch | None = None
        self.enable_logging = True
        # Always None since garage 2021.03; kept because snapshots carry them.
        self._n_workers = self._worker_class = self._worker_args = None

        self.orchestrator: Orchestrator | None = None
        self._active_orchestrator: Orchestrator = InlineOrchestrator()
        self._epoch: int | None = None
        self._phase: Phase | None = None
        self._stop = StopRequest()

    # ------------------------------------------------------------------ properties

    @property
    def snapshot_dir(self) -> str:
        """The directory (local path or fsspec URL) this trainer saves snapshots and logs to."""
        return self._snapshotter.snapshot_dir

    @property
    def snapshot_config(self) -> SnapshotConfig | Any:
        """The snapshot configuration this trainer was built with (a default one for ``None``)."""
        return self._snapshot_config

    @property
    def logger(self) -> ExperimentLogger:
        """The experiment's logger: stdout, ``debug.log``, ``progress.csv`` and TensorBoard."""
        if self._logger is None:
            self._logger = ExperimentLogger(
                self._snapshotter.snapshot_dir,
                getattr(self._snapshot_config, "storage_options", None))
        return self._logger

    @property
    def total_env_steps(self) -> int:
        """Total environment steps sampled so far; settable for algorithms that count their own."""
        return self._stats.total_env_steps

    @total_env_steps.setter
    def total_env_steps(self, value: int) -> None:
        self._stats.total_env_steps = value

    @property
    def stats(self) -> ExperimentStats:
        """The run's counters (last completed epoch, iteration, env steps)."""
        return self._stats

    @property
    def train_args(self) -> TrainArgs | None:
        """The arguments of the current or restored run; ``None`` before ``train``/``restore``."""
        return self._train_args

    # ------------------------------------------------------------------ set-up

    def setup(self, algo: Any, env: Any) -> None:
        """Set up the trainer for an algorithm and an environment.

        The sampler is taken from the algorithm's ``_sampler`` attribute, as in garage 2021.03; an
        algorithm without one (e.g. supervised) is allowed.

        Args:
            algo: An algorithm with a ``train(trainer)`` method.
            env: The environment the algorithm trains in (pickled in snapshots).
        """
        _check_policy_fits_env(algo, env)
        self._algo = algo
        self._env = env
        self._seed = get_seed()
        self._sampler = getattr(algo, "_sampler", None)
        self._has_setup = True

    def _start_worker(self) -> None:
        if self._plot:
            self.logger.log("plot=True is accepted for garage compatibility, but trainflow has no "
                            "live plotter: watch TensorBoard or the Prefect UI instead.")

    def _shutdown_worker(self) -> None:
        if self._sampler is not None and hasattr(self._sampler, "shutdown_worker"):
            self._sampler.shutdown_worker()

    # ------------------------------------------------------------------ training

    def train(self, n_epochs: int, batch_size: int | None = None, plot: bool = False,
              store_episodes: bool = False, pause_for_plot: bool = False) -> float | None:
        """Train the algorithm from epoch 0.

        Args:
            n_epochs: Number of epochs (positive).
            batch_size: Minimum number of environment steps per epoch; ``None`` for algorithms that
                sample nothing or choose their own.
            plot: Kept for garage compatibility; no live plotter is started.
            store_episodes: Keep each epoch's episodes in ``stats.last_episode`` (and snapshots).
            pause_for_plot: Kept for garage compatibility.

        Returns:
            What the algorithm's ``train`` returns: for the built-in algorithms the average
            undiscounted return of the last epoch's episodes, or ``None`` if no epoch ran.

        Raises:
            NotSetupError: If ``setup()`` was not called.
            ConfigError: If ``n_epochs`` or ``batch_size`` is not a positive integer.
        """
        if not self._has_setup:
            raise NotSetupError("Use setup() to setup trainer before training.")
        self._train_args = TrainArgs(
            n_epochs=check_n_epochs(n_epochs), batch_size=check_batch_size(batch_size),
            plot=plot, store_episodes=store_episodes, pause_for_plot=pause_for_plot,
            start_epoch=0)
        self._plot = plot
        # A fresh run from epoch 0 supersedes rows a previous run left in this directory, as
        # its snapshots will (restore() keeps the rows up to the restored epoch instead).
        self.logger.truncate_after(-1)
        self._start_worker()
        self._write_experiment_json()
        return self._run_algo()

    def resume(self, n_epochs: int | None = None, batch_size: int | None = None,
               plot: bool | None = None, store_episodes: bool | None = None,
               pause_for_plot: bool | None = None) -> float | None:
        """Continue a restored run.

        Only the arguments given replace the restored ones. ``n_epochs`` is the *total* number of
        epochs: resuming after epoch 4 with ``n_epochs=10`` runs epochs 5 to 9.

        Returns:
            What the algorithm's ``train`` returns (see :meth:`train`).

        Raises:
            NotSetupError: If ``restore()`` was not called first.
            ConfigError: If ``n_epochs`` or ``batch_size`` is given and not a positive integer.
        """
        if self._train_args is None:
            raise NotSetupError("You must call restore() before resume().")
        args = self._train_args
        if n_epochs is not None:
            args.n_epochs = check_n_epochs(n_epochs)
        if batch_size is not None:
            args.batch_size = check_batch_size(batch_size)
        if plot is not None:
            args.plot = plot
        if store_episodes is not None:
            args.store_episodes = store_episodes
        if pause_for_plot is not None:
            args.pause_for_plot = pause_for_plot
        return self._run_algo()

    def _run_algo(self) -> float | None:
        self._active_orchestrator = (self.orchestrator or discover_orchestrator(self)
                                     or InlineOrchestrator())
        with self._stop:
            try:
                return self._algo.train(self)
            finally:
                self._shutdown_worker()
                if self._logger is not None:
                    self._logger.flush()

    def step_epochs(self) -> Iterator[int]:
        """Yield the epochs to run; save and log after each one (garage's generator).

        The algorithm does its sampling and optimisation between two ``next()`` calls and must
        advance ``trainer.step_itr`` and set ``trainer.step_episode`` itself.

        Yields:
            The epoch index, from ``start_epoch`` to ``n_epochs - 1``.
        """
        self._begin_training()
        self.logger.log("Obtaining samples...")
        for epoch in range(self._train_args.start_epoch, self._train_args.n_epochs):
            self._begin_epoch(epoch)
            with self.logger.prefix(f"epoch #{epoch} | "):
                yield epoch
                self.finish_epoch(epoch)

    def run_epochs(self, algo: Any | None = None) -> float | None:
        """Run the remaining epochs of an algorithm that has ``optimize`` (and maybe ``sample``).

        Each epoch runs as the orchestrator's ``run_epoch``, made of the ``sample``, ``optimize``
        and ``snapshot`` phases. See ``docs/architecture.md`` for the algorithm contract.

        Args:
            algo: The algorithm; default the one given to ``setup``.

        Returns:
            The last epoch's ``Evaluation/AverageReturn``, or ``None`` if no epoch ran.
        """
        algo = self._algo if algo is None else algo
        self._begin_training()
        last_return = None
        for epoch in range(self._train_args.start_epoch, self._train_args.n_epochs):
            metrics = self._active_orchestrator.run_epoch(
                epoch, lambda epoch=epoch: self._run_one_epoch(algo, epoch))
            last_return = metrics.get(AVERAGE_RETURN_KEY, last_return)
        return last_return

    def _run_one_epoch(self, algo: Any, epoch: int) -> dict[str, Any]:
        self._begin_epoch(epoch)
        with self.logger.prefix(f"epoch #{epoch} | "):
            sample = getattr(algo, "sample", None)
            if sample is not None:
                episodes = self.run_phase("sample", lambda: sample(self, epoch))
            else:
                episodes = self.obtain_episodes(self.step_itr)
            self.step_episode = episodes
            self._stop_if_requested(epoch)
            metrics = self.run_phase("optimize", lambda: algo.optimize(self, epoch, episodes))
            self.step_itr += 1
            if metrics:
                self.logger.record_many(metrics)
            return self.finish_epoch(epoch)

    def _begin_training(self) -> None:
        if self._train_args is None:
            raise NotSetupError("Use train() or restore() before iterating epochs.")
        self._start_time = time.time()
        self.step_itr = self._stats.total_itr
        self.step_episode = None

    def _begin_epoch(self, epoch: int) -> None:
        self._itr_start_time = time.time()
        self._epoch = epoch

    def finish_epoch(self, epoch: int) -> dict[str, Any]:
        """Close an epoch: update the stats, log its row, save its snapshot.

        Called by ``step_epochs`` and ``run_epochs``; the same code for both.

        Args:
            epoch: The epoch that just ran.

        Returns:
            The logged tabular row (JSON-friendly), or ``{}`` if logging is disabled.
        """
        self._stats.last_episode = (self.step_episode if self._train_args.store_episodes
                                    else None)
        self._stats.total_epoch = epoch
        self._stats.total_itr = self.step_itr
        row: dict[str, Any] = {}
        if self.enable_logging:
            # Logged before the snapshot: if we die in between, restore() drops this row and the
            # epoch is re-run, so progress.csv never misses or repeats an epoch.
            self.logger.record("Epoch", epoch)
            row = self.log_diagnostics(self._train_args.pause_for_plot)
        self.run_phase("snapshot", lambda: self.save(epoch))
        self._epoch = None
        self._stop_if_requested(epoch, saved=True)
        return row

    def run_phase(self, phase: Phase, fn: Callable[[], T]) -> T:
        """Run one phase of the current epoch through the orchestrator.

        Nested calls (``obtain_episodes`` inside an algorithm's ``sample``) and calls outside an
        epoch run ``fn`` directly.
        """
        if self._phase is not None or self._epoch is None:
            return fn()
        self._phase = phase
        try:
            return self._active_orchestrator.run_phase(phase, self._epoch, fn)
        finally:
            self._phase = None

    def log_diagnostics(self, pause_for_plot: bool = False) -> dict[str, Any]:
        """Log the epoch's timings and ``TotalEnvSteps`` and dump the tabular row.

        Args:
            pause_for_plot: Kept for garage compatibility (no plotter).

        Returns:
            The row that was dumped.
        """
        now = time.time()
        self.logger.log(f"Time {now - self._start_time:.2f} s")
        self.logger.log(f"EpochTime {now - self._itr_start_time:.2f} s")
        self.logger.record("TotalEnvSteps", self._stats.total_env_steps)
        return self.logger.dump(self.step_itr)

    # ------------------------------------------------------------------ sampling

    def obtain_episodes(self, itr: int, batch_size: int | None = None, agent_update: Any = None,
                        env_update: Any = None) -> EpisodeBatch:
        """Sample whole episodes with the algorithm's sampler (the epoch's ``sample`` phase).

        Args:
            itr: The iteration number (passed to the sampler; unused by the built-in ones).
            batch_size: Minimum number of environment steps; default the ``train`` argument.
            agent_update: Policy parameters or a policy for the workers, one object for all
                workers or a list of exactly ``n_workers``; default the algorithm's
                ``exploration_policy`` or ``policy`` parameter values.
            env_update: An environment or ``EnvUpdate`` for the workers, same rules.

        Returns:
            The episodes; ``total_env_steps`` grows by their total length.

        Raises:
            ValueError: If the algorithm has no sampler, or no batch size was given here or to
                ``train()``.
        """
        if self._sampler is None:
            raise ValueError("trainer was not initialized with `sampler`. the algo should have "
                             "a `_sampler` field when `setup()` is called")
        if batch_size is None and (self._train_args is None or self._train_args.batch_size is None):
            raise ValueError("trainer was not initialized with `batch_size`. Either provide "
                             "`batch_size` to trainer.train(), or pass `batch_size` to "
                             "trainer.obtain_samples() or trainer.obtain_episodes()")
        batch_size = batch_size or self._train_args.batch_size
        if agent_update is None:
            policy = getattr(self._algo, "exploration_policy", None)
            if policy is None:
                policy = self._algo.policy
            agent_update = policy.get_param_values()

        def sample() -> EpisodeBatch:
            return self._sampler.obtain_samples(itr, batch_size, agent_update=agent_update,
                                                env_update=env_update)

        episodes = self.run_phase("sample", sample)
        self._stats.total_env_steps += int(sum(episodes.lengths))
        return episodes

    def obtain_samples(self, itr: int, batch_size: int | None = None, agent_update: Any = None,
                       env_update: Any = None) -> list[dict[str, Any]]:
        """Like :meth:`obtain_episodes`, but return one dict per episode (``to_list()``)."""
        return self.obtain_episodes(itr, batch_size, agent_update, env_update).to_list()

    def get_env_copy(self) -> Any:
        """Return a deep copy of the environment (a pickle round trip), or ``None``."""
        if self._env:
            return cloudpickle.loads(cloudpickle.dumps(self._env))
        return None

    # ------------------------------------------------------------------ snapshots

    def save(self, epoch: int) -> None:
        """Save a snapshot of the run after ``epoch`` (the snapshot mode decides which files).

        Raises:
            NotSetupError: If ``setup()`` was not called.
        """
        if not self._has_setup:
            raise NotSetupError("Use setup() to setup trainer before saving.")
        self.logger.log("Saving snapshot...")
        params = {
            "seed": self._seed,
            "train_args": self._train_args,
            "stats": self._stats,
            "env": self._env,
            "algo": self._algo,
            "n_workers": self._n_workers,
            "worker_class": self._worker_class,
            "worker_args": self._worker_args,
            "rng_state": get_rng_state(),
        }
        self._snapshotter.save_itr_params(epoch, params)
        self.logger.log("Saved")

    def latest_snapshot_epoch(self, from_dir: str | None = None) -> int | None:
        """Return the newest committed snapshot's epoch in ``from_dir`` (default: own dir)."""
        return self._snapshotter.latest_epoch(from_dir)

    def restore(self, from_dir: str, from_epoch: int | str = "last") -> TrainArgs:
        """Restore a run from a snapshot; :meth:`resume` then continues it.

        The random generators continue from their saved states (garage re-seeded instead).
        New snapshots and logs go to this trainer's own ``snapshot_dir``.

        Args:
            from_dir: Directory (local path or fsspec URL) holding the snapshots.
            from_epoch: ``'last'`` (default), ``'first'`` or an epoch number.

        Returns:
            A copy of the restored :class:`TrainArgs`, ``start_epoch`` = last epoch + 1.
        """
        saved = self._snapshotter.load(from_dir, from_epoch)
        required = ("train_args", "stats", "env", "algo")
        missing = [key for key in required if key not in saved] if isinstance(saved, dict) \
            else list(required)
        if missing:
            raise ConfigError(f"{from_dir!r} does not hold a trainflow/garage snapshot (missing "
                              f"keys {missing}); check from_dir and from_epoch.")
        self._seed = saved["seed"]
        self._train_args = saved["train_args"]
        self._stats = saved["stats"]
        if saved.get("rng_state") is not None:
            set_rng_state(saved["rng_state"])
        elif self._seed is not None:
            set_seed(self._seed)
        self.setup(env=saved["env"], algo=saved["algo"])
        self._seed = saved["seed"]

        last_epoch = self._stats.total_epoch
        self._train_args.start_epoch = last_epoch + 1
        self.logger.truncate_after(last_epoch)
        self.logger.log(
            f"Restore from snapshot saved in {from_dir} | n_epochs {self._train_args.n_epochs}"
            f" | last_epoch {last_epoch} | batch_size {self._train_args.batch_size}"
            f" | store_episodes {self._train_args.store_episodes}"
            f" | pause_for_plot {self._train_args.pause_for_plot}"
            f" | last_itr {self._stats.total_itr}"
            f" | total_env_steps {self._stats.total_env_steps}")
        return copy.copy(self._train_args)

    def _write_experiment_json(self) -> None:
        description = {
            "snapshot_config": {
                "snapshot_dir": self.snapshot_dir,
                "snapshot_mode": self._snapshotter.snapshot_mode,
                "snapshot_gap": self._snapshotter.snapshot_gap,
            },
            "train_args": vars(self._train_args),
            "seed": self._seed,
            "algo": describe(self._algo),
            "env": describe(self._env),
        }
        try:
            data = json.dumps(description, indent=2, default=repr).encode()
            self._snapshotter.write_file("experiment.json", data)
        except Exception as exc:  # noqa: BLE001 - a description must never stop training (#2328).
            _log.warning("could not write experiment.json: %s", exc)

    def _stop_if_requested(self, epoch: int, saved: bool = False) -> None:
        if self._stop.signum is None:
            return
        where = (f"after saving epoch {epoch}" if saved
                 else f"during epoch {epoch} (it will be re-run on resume)")
        message = (f"Training stopped by signal {self._stop.signum} {where}; resume with "
                   f"`trainflow resume {self.snapshot_dir}` or Trainer.restore().")
        self.logger.log(message)
        raise TrainingInterrupted(message)


def _check_policy_fits_env(algo: Any, env: Any) -> None:
    """Refuse a policy built for another environment's spaces before anything runs."""
    env_spec = getattr(env, "spec", None)
    policy_spec = getattr(getattr(algo, "policy", None), "env_spec", None)
    if env_spec is None or policy_spec is None:
        return
    for space in ("observation_space", "action_space"):
        ours, theirs = getattr(policy_spec, space, None), getattr(env_spec, space, None)
        if ours is not None and theirs is not None and ours != theirs:
            raise ConfigError(
                f"the algorithm's policy was built for {space} {ours}, but the environment has "
                f"{theirs}: build the policy from this environment's spec (env.spec).")
