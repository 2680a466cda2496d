"""ExperimentLogger: an experiment's text log and per-epoch tabular rows, in every output at once.

It replaces garage's use of dowel (``logger``, ``tabular``, and the ``StdOutput``,
``TextOutput``, ``CsvOutput`` and ``TensorBoardOutput`` outputs ``wrap_experiment`` added):

* ``log(msg)``: a timestamped line to ``debug.log``, stdout and the Python logger ``trainflow``;
* ``record(key, value)`` then ``dump(step)``: the row as a table to stdout and the Python logger,
  one line of ``progress.csv`` and one TensorBoard event with x = the row's ``TotalEnvSteps``.

What it does better than dowel: ``progress.csv`` is appended to, never truncated, when a run is
resumed; a key first recorded in a later epoch adds a column instead of being dropped; and
``truncate_after`` removes the rows (and TensorBoard points) of epochs that a resumed run re-runs.
The files live next to the snapshots; see :mod:`trainer.logs.log_dir`.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from numbers import Integral, Real
from typing import Any

from trainer.errors import ConfigError
from trainer.logs.csv_log import ProgressCsv
from trainer.logs.log_dir import DEBUG_LOG, PROGRESS_CSV, TB_DIR, LogDir
from trainer.logs.table import format_table
from trainer.logs.tensorboard_log import TensorBoardLog
from trainer.logs.text_log import TextLog

Value = float | int | str

_log = logging.getLogger("trainflow")


class ExperimentLogger:
    """Logs an experiment's text lines and tabular rows to stdout, files and TensorBoard.

    Nothing is created or written until the first call that writes.

    Example::

        logger = ExperimentLogger("data/local/experiment/ppo_cartpole")
        with logger.prefix("epoch #0 | "):
            logger.log("Obtaining samples...")
        logger.record_many({"Epoch": 0, "TotalEnvSteps": 4000, "AverageReturn": 21.5})
        logger.dump(step=0)
        logger.close()

    Args:
        log_dir: The experiment's ``snapshot_dir``: a local path or an fsspec URL. The files are
            ``<log_dir>/progress.csv``, ``<log_dir>/debug.log`` and ``<log_dir>/tb/``; remote
            ones are staged locally and uploaded after each dump.
        storage_options: fsspec options for a remote ``log_dir`` (credentials, endpoint).
        x_axis: Tabular key whose value is TensorBoard's x (step), default ``"TotalEnvSteps"``
            (garage's). It is not plotted itself. A row without it falls back to the dump's
            ``step``, with a warning the first time.
        stdout: Whether to print log lines and tables to ``sys.stdout`` (default ``True``).
        tensorboard: Whether to write TensorBoard event files (default ``True``).

    Raises:
        ConfigError: If ``log_dir`` or ``x_axis`` is empty or not a string.
    """

    def __init__(self, log_dir: str | os.PathLike[str],
                 storage_options: dict[str, Any] | None = None, *,
                 x_axis: str = "TotalEnvSteps", stdout: bool = True,
                 tensorboard: bool = True) -> None:
        if isinstance(log_dir, os.PathLike):
            log_dir = os.fspath(log_dir)
        if not isinstance(log_dir, str) or not log_dir:
            raise ConfigError(f"log_dir={log_dir!r} is not valid: pass the experiment's "
                              "snapshot_dir, a local path or an fsspec URL such as 's3://b/exp'.")
        if not isinstance(x_axis, str) or not x_axis:
            raise ConfigError(f"x_axis={x_axis!r} is not valid: pass the tabular key to plot "
                              "against, e.g. 'TotalEnvSteps'.")
        self._args = (log_dir, storage_options)
        self._dir = LogDir(log_dir, storage_options)
        self._x_axis = x_axis
        self._stdout = stdout
        self._use_tensorboard = tensorboard
        self._prefixes: list[str] = []
        self._prefix = ""
        self._tabular: dict[str, Value] = {}
        self._text: TextLog | None = None
        self._csv: ProgressCsv | None = None
        self._tb: TensorBoardLog | None = None
        self._warned_x_axis = False
        self._lock = threading.RLock()

    @property
    def log_dir(self) -> str:
        """The ``log_dir`` this logger writes to, as given."""
        return self._dir.url

    @property
    def x_axis(self) -> str:
        """The tabular key used as TensorBoard's x axis."""
        return self._x_axis

    @property
    def tabular(self) -> dict[str, Value]:
        """A copy of what was recorded since the last :meth:`dump`."""
        return dict(self._tabular)

    def log(self, msg: str) -> None:
        """Log a line ``"YYYY-mm-dd HH:MM:SS | <prefix><msg>"``.

        The line goes to ``debug.log`` (appended) and stdout (if enabled); the Python logger
        ``"trainflow"`` gets ``<prefix><msg>`` at INFO level, its handlers add their own time.

        Args:
            msg: The message; non-strings are converted with ``str``.
        """
        text = f"{self._prefix}{msg}"
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} | {text}"
        with self._lock:
            self._text_log().write_line(line)
            self._dir.mark_changed(DEBUG_LOG)
            if self._stdout:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
        _log.info("%s", text)

    @contextmanager
    def prefix(self, text: str) -> Iterator[None]:
        """Prefix the lines logged inside the ``with`` block; nested prefixes concatenate.

        Args:
            text: The prefix, e.g. ``"epoch #3 | "``.

        Raises:
            TypeError: If ``text`` is not a string.
        """
        if not isinstance(text, str):
            raise TypeError(f"prefix text={text!r} is not a string; pass e.g. 'epoch #3 | '.")
        self._prefixes.append(text)
        self._prefix = "".join(self._prefixes)
        try:
            yield
        finally:
            self._prefixes.pop()
            self._prefix = "".join(self._prefixes)

    def record(self, key: str, value: Value) -> None:
        """Record a value of the current tabular row; recording a key again overwrites it.

        numpy scalars and 0-d arrays are stored as the Python number they hold.

        Args:
            key: Column name, e.g. ``"Evaluation/AverageReturn"`` (``/`` groups TensorBoard
                charts).
            value: A number or a string (strings are not plotted).

        Raises:
            TypeError: If ``key`` is not a non-empty string or ``value`` is not a number or
                string.
        """
        if not isinstance(key, str) or not key:
            raise TypeError(f"tabular key={key!r} is not a non-empty string; pass e.g. "
                            "record('AverageReturn', 21.5).")
        self._tabular[key] = _to_value(key, value)

    def record_many(self, metrics: Mapping[str, Value]) -> None:
        """Record every item of ``metrics`` (see :meth:`record`).

        Args:
            metrics: Keys and values, e.g. an algorithm's ``optimize()`` result.
        """
        for key, value in metrics.items():
            self.record(key, value)

    def dump(self, step: int) -> dict[str, Value]:
        """Write the recorded row everywhere and start a new one.

        The row goes to stdout (if enabled) and the Python logger as a table, is appended to
        ``progress.csv``, and, if TensorBoard is enabled, its numeric values (except the x-axis
        key) become scalars at x = the row's ``x_axis`` value. A remote ``log_dir`` gets the
        changed files uploaded. An empty row writes nothing.

        Args:
            step: The dump's index (the trainer passes ``step_itr``); TensorBoard's x when the
                row has no numeric ``x_axis`` value.

        Returns:
            The row that was written (empty if nothing was recorded).

        Raises:
            TypeError: If ``step`` is not an integer.
        """
        if isinstance(step, bool) or not isinstance(step, Integral):
            raise TypeError(f"step={step!r} is not an integer; pass the iteration number, "
                            "e.g. dump(trainer.step_itr).")
        with self._lock:
            row, self._tabular = self._tabular, {}
            if not row:
                return row
            table = format_table(row)
            if self._stdout:
                sys.stdout.write(table + "\n")
                sys.stdout.flush()
            _log.info("tabular row of step %d:\n%s", step, table)
            self._progress_csv().append(row)
            self._dir.mark_changed(PROGRESS_CSV)
            if self._use_tensorboard:
                self._write_tensorboard(row, int(step))
            self._dir.push()
        return row

    def truncate_after(self, epoch: int) -> None:
        """Forget the logged rows of epochs after ``epoch`` (call it on restore).

        A run that dies after logging epoch k but before committing its snapshot resumes from
        epoch k - 1 and runs epoch k again; this drops the ``progress.csv`` rows whose ``Epoch``
        is greater than ``epoch`` so that no epoch appears twice, and hides their TensorBoard
        points (a ``SessionLog.START`` marker at the first dropped x, which TensorBoard honours
        across event files). ``debug.log`` keeps
        everything: it is the record of what happened.

        Args:
            epoch: The restored snapshot's epoch; ``-1`` drops every row that has an epoch.

        Raises:
            TypeError: If ``epoch`` is not an integer.
        """
        if isinstance(epoch, bool) or not isinstance(epoch, Integral):
            raise TypeError(f"epoch={epoch!r} is not an integer; pass the restored snapshot's "
                            "epoch, e.g. truncate_after(trainer.stats.total_epoch).")
        with self._lock:
            dropped = self._progress_csv().truncate_after(int(epoch))
            if not dropped:
                return
            self._dir.mark_changed(PROGRESS_CSV)
            purge_step = self._purge_step(dropped)
            if self._use_tensorboard and purge_step is not None:
                self._tensorboard().purge_from(purge_step)
                self._dir.mark_changed(self._tb_name())
            self._dir.push()
        self.log(f"progress.csv: dropped {len(dropped)} row(s) of epochs after {epoch}, "
                 "which will be run again")

    def flush(self) -> None:
        """Flush every open file and upload the changed ones of a remote ``log_dir``."""
        with self._lock:
            for output in (self._csv, self._tb):
                if output is not None:
                    output.flush()
            self._dir.push()

    def close(self) -> None:
        """Flush and close every file; a later call reopens them. Safe to call more than once.

        Values recorded but not dumped stay in :attr:`tabular`.
        """
        with self._lock:
            for output in (self._text, self._csv, self._tb):
                if output is not None:
                    output.close()
            self._dir.close()
            self._text = self._csv = self._tb = None

    def __getstate__(self) -> dict[str, Any]:
        # Open files and the lock cannot be pickled (e.g. when Prefect hashes a task's inputs);
        # a copy keeps its settings and unsaved row and reopens the files on first use.
        return {"args": self._args, "x_axis": self._x_axis, "stdout": self._stdout,
                "tensorboard": self._use_tensorboard, "tabular": dict(self._tabular)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        log_dir, storage_options = state["args"]
        self.__init__(log_dir, storage_options, x_axis=state["x_axis"], stdout=state["stdout"],
                      tensorboard=state["tensorboard"])
        self._tabular = state["tabular"]

    def __enter__(self) -> ExperimentLogger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _write_tensorboard(self, row: Mapping[str, Value], step: int) -> None:
        x = row.get(self._x_axis)
        if _is_x_value(x):
            step = int(x)
        elif not self._warned_x_axis:
            self._warned_x_axis = True
            warnings.warn(
                f"x_axis={self._x_axis!r} has no numeric value in the tabular row (got {x!r}), so "
                f"TensorBoard plots it against the dump step ({step}) instead. Record "
                f"{self._x_axis!r} before every dump, or pass ExperimentLogger(x_axis=<a key you "
                "record>).", RuntimeWarning, stacklevel=3)
        scalars = {key: float(value) for key, value in row.items()
                   if key != self._x_axis and _is_scalar(value)}
        tensorboard = self._tensorboard()
        tensorboard.add_scalars(step, scalars)
        self._dir.mark_changed(self._tb_name())

    def _purge_step(self, dropped: list[dict[str, str]]) -> int | None:
        # The first dropped x, but never at or below a kept row's x, whose point must stay.
        first_dropped = _last_number(dropped[:1], self._x_axis)
        if first_dropped is None:
            return None
        last_kept = _last_number(self._progress_csv().read_rows(), self._x_axis)
        if last_kept is None:
            return int(first_dropped)
        return max(int(first_dropped), int(last_kept) + 1)

    def _text_log(self) -> TextLog:
        if self._text is None:
            self._text = TextLog(self._dir.path(DEBUG_LOG))
        return self._text

    def _progress_csv(self) -> ProgressCsv:
        if self._csv is None:
            self._csv = ProgressCsv(self._dir.path(PROGRESS_CSV))
        return self._csv

    def _tensorboard(self) -> TensorBoardLog:
        if self._tb is None:
            self._tb = TensorBoardLog(self._dir.path(TB_DIR))
        return self._tb

    def _tb_name(self) -> str:
        return f"{TB_DIR}/{self._tensorboard().file_name}"


def _to_value(key: str, value: Any) -> Value:
    if isinstance(value, str | int | float):
        return value
    item = getattr(value, "item", None)  # numpy scalars and 0-d arrays
    if callable(item) and getattr(value, "ndim", 0) == 0:
        value = item()
        if isinstance(value, str | int | float):
            return value
    raise TypeError(f"tabular value {key}={value!r} ({type(value).__name__}) is not a number or "
                    f"string; record a scalar, e.g. record({key!r}, float(np.mean(values))).")


def _is_x_value(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_scalar(value: object) -> bool:
    # NaN and inf are kept: TensorBoard shows them, and a diverging loss should be visible.
    return isinstance(value, Real)


def _last_number(rows: list[dict[str, str]], key: str) -> float | None:
    for row in reversed(rows):
        try:
            number = float(row.get(key, ""))
        except ValueError:
            continue
        if math.isfinite(number):
            return number
    return None
