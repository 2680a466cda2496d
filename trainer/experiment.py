"""Plain records of an experiment: its progress, its training arguments, its snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from trainer.episode_batch import EpisodeBatch
from trainer.errors import ConfigError


@dataclass
class ExperimentStats:
    """Counters of a run, pickled in every snapshot.

    Attributes:
        total_epoch: Index (0-based) of the last completed epoch; 0 on a fresh trainer.
        total_itr: ``trainer.step_itr`` at the end of the last completed epoch.
        total_env_steps: Sum of the lengths of every episode the trainer obtained.
        last_episode: The last epoch's episodes when ``store_episodes`` is set, else ``None``.
    """

    total_epoch: int = 0
    total_itr: int = 0
    total_env_steps: int = 0
    last_episode: EpisodeBatch | None = None


@dataclass
class TrainArgs:
    """The arguments of :meth:`Trainer.train`, pickled in every snapshot.

    Attributes:
        n_epochs: Total number of epochs of the run (not the number still to run).
        batch_size: Minimum number of environment steps per epoch, or ``None``.
        plot: Whether to plot the policy (kept for garage compatibility; no plotter here).
        store_episodes: Whether to keep the last epoch's episodes in ``ExperimentStats``.
        pause_for_plot: Whether to pause after each plot update.
        start_epoch: First epoch to run: 0 for ``train()``, last saved epoch + 1 after restore.
    """

    n_epochs: int
    batch_size: int | None
    plot: bool
    store_episodes: bool
    pause_for_plot: bool
    start_epoch: int


class SnapshotConfig(NamedTuple):
    """Where and how often a trainer saves snapshots.

    Attributes:
        snapshot_dir: A local path or any fsspec URL (``file://``, ``s3://``, ``memory://``).
        snapshot_mode: One of ``all``, ``last``, ``gap``, ``gap_and_last``, ``gap_overwrite``,
            ``none``. Default ``last``.
        snapshot_gap: Epochs between snapshots in the ``gap*`` modes. Default 1.
        storage_options: Keyword arguments for the fsspec filesystem (e.g. ``endpoint_url``,
            ``profile``, ``anon`` for S3). Default ``None``: the usual environment.
    """

    snapshot_dir: str
    snapshot_mode: str = "last"
    snapshot_gap: int = 1
    storage_options: dict[str, Any] | None = None


def check_n_epochs(n_epochs: Any) -> int:
    """Return ``n_epochs`` if it is a positive integer, else raise ``ConfigError``."""
    if isinstance(n_epochs, bool) or not isinstance(n_epochs, int) or n_epochs < 1:
        raise ConfigError(
            f"n_epochs={n_epochs!r} is not valid: pass a positive integer, the total number of "
            "epochs of the run (e.g. n_epochs=100).")
    return n_epochs


def check_batch_size(batch_size: Any) -> int | None:
    """Return ``batch_size`` if it is ``None`` or a positive integer, else raise ``ConfigError``."""
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(
            f"batch_size={batch_size!r} is not valid: pass a positive integer, the minimum number "
            "of environment steps per epoch (e.g. batch_size=4000), or None.")
    return batch_size


def describe(obj: Any) -> Any:
    """A JSON-friendly description of an object (its type and plain fields) for experiment.json."""
    if obj is None:
        return None
    fields = {}
    for key, value in vars(obj).items() if hasattr(obj, "__dict__") else []:
        if isinstance(value, str | int | float | bool | type(None)):
            fields[key.lstrip("_")] = value
    return {"$type": f"{type(obj).__module__}.{type(obj).__qualname__}", **fields}
