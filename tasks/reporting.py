"""What a user watches in the Prefect UI: a progress bar, a metrics table and a learning curve.

All three are keyed artifacts, so they show on the Artifacts page and keep one version per
update. The progress artifact is updated in place every epoch; the table and the curve are
re-published at most every ``min_interval_s`` seconds (10 by default) and at most
``max_versions`` times per run, so a long run does not fill the server's database with copies of a
growing table, and the API server, which shares the CPUs with training, records one small update
per epoch. Each API call costs 20-40 ms, so they are made from a background thread: the training
thread only appends a row (the last epoch's artifacts are published before it returns).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import os
import re
import threading
import time
from contextvars import copy_context
from typing import Any
from uuid import UUID

import fsspec
from prefect.artifacts import (
    Artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from tasks.learning_curve import markdown_image, render_svg
from trainer.errors import ConfigError

AVERAGE_RETURN = "Evaluation/AverageReturn"
ENV_STEPS = "TotalEnvSteps"
#: Default least seconds between two versions of the metrics table and the learning curve.
DEFAULT_INTERVAL_S = 10.0

# A child of the engine's logger, so a failed update shows in the run's logs (WARNING passes).
_log = logging.getLogger("trainflow.artifacts")


def experiment_key(snapshot_dir: str) -> str:
    """A Prefect artifact key that names an experiment: ``<dir name>-<8 hex of its URL>``.

    Keys may hold only lowercase letters, digits and dashes; the hash keeps two experiments with
    the same directory name (``runs/a/exp`` and ``runs/b/exp``) apart.

    Args:
        snapshot_dir: The experiment's snapshot directory (local path or fsspec URL).

    Returns:
        The key, e.g. ``"ppo-cartpole-1a2b3c4d"``.
    """
    url = snapshot_dir if "://" in snapshot_dir else os.path.abspath(snapshot_dir)
    url = url.rstrip("/")
    name = re.sub(r"[^a-z0-9]+", "-", url.rsplit("/", 1)[-1].lower()).strip("-") or "experiment"
    digest = hashlib.sha1(url.encode()).hexdigest()[:8]
    return f"{name[:40]}-{digest}"


def _json_value(value: Any) -> Any:
    """A JSON-safe copy of a metric: numpy scalars become Python numbers, NaN/inf become None."""
    if hasattr(value, "item") and callable(value.item):
        try:
            value = value.item()
        except (TypeError, ValueError):  # Arrays with more than one element stay as text.
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class EpochReporter:
    """Publishes each epoch's metrics as Prefect artifacts.

    The progress artifact moves every epoch. The table and the curve are re-published at most
    every ``min_interval_s`` seconds and ``max_versions`` times per run, and always for the last
    epoch (:meth:`close`), so the UI is never left behind when a run ends. With ``background``,
    a daemon thread makes the API calls: the training thread only appends a row. Its queue holds
    one pending update; a newer epoch replaces an older one that has not gone out yet, which
    loses nothing because every update carries the whole table. A failed API call only logs a
    warning: artifacts never stop training.

    Args:
        key: The experiment's artifact key prefix (see :func:`experiment_key`); the artifacts are
            ``<key>-progress``, ``<key>-metrics`` and ``<key>-learning-curve``.
        n_epochs: The run's total number of epochs, for the progress bar. Default ``None``: no
            progress artifact.
        y_metric: The metric plotted on the learning curve. Default ``Evaluation/AverageReturn``.
        x_metric: The curve's x axis, falling back to the epoch when absent. Default
            ``TotalEnvSteps``.
        max_versions: Most versions of the table and the curve written per run. Default 100.
        min_interval_s: Least time between two versions of the table and the curve, in seconds,
            except for the last epoch's. Default 10; 0 publishes them every epoch.
        background: Publish from a background thread. Default ``True``; without ``n_epochs``
            (no known last epoch to flush at) publishing is always synchronous.
        snapshot_dir: The experiment's directory; on resume the table is rebuilt from its
            ``progress.csv``. Default ``None``: from the last published table.
        storage_options: fsspec options for ``snapshot_dir``.

    Raises:
        ConfigError: If ``min_interval_s`` is negative or not a number, or ``max_versions`` is
            not a positive integer.
    """

    def __init__(self, key: str, n_epochs: int | None = None, *, y_metric: str = AVERAGE_RETURN,
                 x_metric: str = ENV_STEPS, max_versions: int = 100,
                 min_interval_s: float = DEFAULT_INTERVAL_S, background: bool = True,
                 snapshot_dir: str | None = None,
                 storage_options: dict[str, Any] | None = None) -> None:
        if (isinstance(min_interval_s, bool) or not isinstance(min_interval_s, int | float)
                or not min_interval_s >= 0):
            raise ConfigError(f"min_interval_s={min_interval_s!r} is not valid: pass the least "
                              "number of seconds between two versions of the metrics table, "
                              "e.g. 10 (0 publishes every epoch).")
        if isinstance(max_versions, bool) or not isinstance(max_versions, int) \
                or max_versions < 1:
            raise ConfigError(f"max_versions={max_versions!r} is not valid: pass a positive "
                              "integer, e.g. 100.")
        self.key = key
        self.n_epochs = n_epochs
        self.y_metric = y_metric
        self.x_metric = x_metric
        self.max_versions = max_versions
        self.rows: list[dict[str, Any]] = []
        self.min_interval_s = float(min_interval_s)
        self.snapshot_dir = snapshot_dir
        self.storage_options = storage_options
        self._background = background
        self._progress_id: UUID | None = None
        self._history_loaded = False
        self._last_table = -float("inf")
        self._published_rows = 0  # rows in the newest table version
        self._pending: int | None = None
        self._busy = False
        self._closed = False
        self._lock = threading.Lock()  # guards rows and the queue slot
        self._api_lock = threading.Lock()  # one publisher at a time: versions stay in order
        self._wake = threading.Condition(self._lock)
        self._worker: threading.Thread | None = None

    @property
    def background(self) -> bool:
        """Whether updates go out from the background thread (only with a known ``n_epochs``)."""
        return self._background and self.n_epochs is not None

    def report(self, epoch: int, metrics: dict[str, Any]) -> None:
        """Record one finished epoch and update the artifacts that are due.

        Args:
            epoch: The epoch that finished.
            metrics: Its tabular row.
        """
        if not self._history_loaded:
            self._history_loaded = True
            self.rows = self._earlier_rows(epoch)
        row = {"Epoch": epoch, **{k: _json_value(v) for k, v in metrics.items() if k != "Epoch"}}
        with self._lock:
            self.rows.append(row)
        last = self.n_epochs is not None and epoch + 1 >= self.n_epochs
        if last:
            self.close()
            return
        if not self.background:
            self._publish_safely(epoch, final=True)
            return
        with self._wake:
            self._pending, self._closed = epoch, False
            self._wake.notify()
            if self._worker is None:
                # The copied context carries the flow run, so artifacts are linked to it.
                self._worker = threading.Thread(target=copy_context().run, args=(self._work,),
                                                name="trainflow-artifacts", daemon=True)
                self._worker.start()

    def close(self, timeout: float = 30.0) -> None:
        """Publish the final version of every artifact and stop the background thread.

        Called for the last epoch, and by the orchestrator when an epoch fails, so the table
        and the curve always end with the newest row reported. Safe to call more than once.

        Args:
            timeout: Seconds to wait for an update already in flight. Default 30.
        """
        self.flush(timeout)
        with self._wake:
            self._closed = True
            self._wake.notify_all()
            rows = len(self.rows)
        if rows and rows != self._published_rows:
            self._publish_safely(self.rows[-1]["Epoch"], final=True)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until the background thread has published everything reported so far.

        Args:
            timeout: Most seconds to wait. Default 30.
        """
        deadline = time.monotonic() + timeout
        with self._wake:
            while (self._pending is not None or self._busy) and time.monotonic() < deadline:
                self._wake.wait(0.05)

    def _work(self) -> None:
        while True:
            with self._wake:
                while self._pending is None and not self._closed:
                    self._wake.wait()
                if self._pending is None:  # closed and drained; report() starts a new one
                    self._worker = None
                    return
                epoch, self._pending, self._busy = self._pending, None, True
            try:
                self._publish_safely(epoch, final=False)
            finally:
                with self._wake:
                    self._busy = False
                    self._wake.notify_all()

    def _publish_safely(self, epoch: int, final: bool) -> None:
        try:
            self._publish(epoch, final)
        except Exception as exc:  # noqa: BLE001 - artifacts must never stop training.
            _log.warning("could not publish the artifacts of epoch %d (%s-*): %s", epoch,
                         self.key, exc)

    def _publish(self, epoch: int, final: bool) -> None:
        with self._api_lock:
            with self._lock:
                rows = list(self.rows)
            self._update_progress(epoch)
            now = time.monotonic()
            if final or (self._due(epoch) and now - self._last_table >= self.min_interval_s):
                self._last_table = now
                create_table_artifact(rows, key=f"{self.key}-metrics",
                                      description=f"Per-epoch metrics, epochs 0..{epoch}")
                create_markdown_artifact(self.curve_markdown(rows),
                                         key=f"{self.key}-learning-curve",
                                         description=f"{self.y_metric} after epoch {epoch}")
                self._published_rows = len(rows)

    def curve_markdown(self, rows: list[dict[str, Any]] | None = None) -> str:
        """The learning curve as markdown: an embedded SVG plot and the latest value.

        Args:
            rows: The metric rows to plot. Default ``None``: all rows reported so far.
        """
        rows = self.rows if rows is None else rows
        have_x = all(self.x_metric in row for row in rows)
        x_name = self.x_metric if have_x else "Epoch"
        points = [(row.get(x_name), row.get(self.y_metric)) for row in rows]
        points = [(float(x), float(y)) for x, y in points
                  if isinstance(x, int | float) and isinstance(y, int | float)]
        svg = render_svg([p[0] for p in points], [p[1] for p in points], x_name, self.y_metric)
        latest = f"{points[-1][1]:.4g} at {x_name} {points[-1][0]:g}" if points else "no data yet"
        return (f"## Learning curve\n\n{markdown_image(svg, f'{self.y_metric} vs {x_name}')}\n\n"
                f"Latest {self.y_metric}: **{latest}** ({len(rows)} epochs)\n")

    def _due(self, epoch: int) -> bool:
        if self.n_epochs is None:
            return True
        every = max(1, math.ceil(self.n_epochs / self.max_versions))
        return (epoch + 1) % every == 0 or epoch + 1 >= self.n_epochs

    def _update_progress(self, epoch: int) -> None:
        if not self.n_epochs:
            return
        progress = min(100.0, 100.0 * (epoch + 1) / self.n_epochs)
        description = f"Epoch {epoch + 1} of {self.n_epochs}"
        if self._progress_id is None:
            self._progress_id = create_progress_artifact(
                progress, key=f"{self.key}-progress", description=description)
        else:
            update_progress_artifact(self._progress_id, progress, description=description)

    def _earlier_rows(self, first_epoch: int) -> list[dict[str, Any]]:
        """Rows of the epochs before ``first_epoch``, when a run resumes.

        The experiment's ``progress.csv`` is the authority (``restore()`` trims it to the
        snapshot's epoch); the last published table is the fallback.
        """
        if first_epoch == 0:
            return []
        rows = self._csv_rows() if self.snapshot_dir else []
        if not rows:
            rows = self._artifact_rows()
        return [row for row in rows
                if isinstance(row.get("Epoch"), int) and row["Epoch"] < first_epoch]

    def _csv_rows(self) -> list[dict[str, Any]]:
        try:
            with fsspec.open(f"{self.snapshot_dir.rstrip('/')}/progress.csv", "r",
                             **(self.storage_options or {})) as handle:
                return [{k: _csv_value(v) for k, v in row.items()}
                        for row in csv.DictReader(handle)]
        except Exception as exc:  # noqa: BLE001 - the table is a convenience, never a failure.
            _log.debug("no progress.csv to rebuild the metrics table from: %s", exc)
            return []

    def _artifact_rows(self) -> list[dict[str, Any]]:
        try:
            artifact = Artifact.get(f"{self.key}-metrics")
            data = json.loads(artifact.data) if artifact and isinstance(artifact.data, str) \
                else (artifact.data if artifact else [])
        except Exception as exc:  # noqa: BLE001 - the table is a convenience, never a failure.
            _log.warning("could not read the earlier metrics table %s-metrics: %s", self.key, exc)
            return []
        return [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []


def _csv_value(cell: str | None) -> Any:
    """A ``progress.csv`` cell as a number where it is one (empty cells become ``None``)."""
    if cell is None or cell == "":
        return None
    for kind in (int, float):
        try:
            return _json_value(kind(cell))
        except ValueError:
            pass
    return cell
