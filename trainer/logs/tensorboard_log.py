"""TensorBoard event files written without TensorFlow.

``tf.summary`` would build graph ops inside the TF1-style graphs trainflow's TF code runs in,
and tensorboard's ``EventFileWriter`` imports TensorFlow (when installed) to get ``tf.io.gfile``.
This module frames ``Event`` protos with tensorboard's pure-Python ``RecordWriter`` (the
TFRecord format ``EventFileWriter`` also writes) into a plain local file, synchronously, so every
dump is on disk (and can be uploaded) as soon as it returns.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Mapping
from typing import IO, Any

_file_ids = itertools.count()


class TensorBoardLog:
    """One event file (``events.out.tfevents.*``) per instance, created on first write.

    A resumed process writes a new file next to the old ones; TensorBoard reads them all in name
    (= creation time) order.

    Args:
        directory: Local directory of the event files; created on first write.
    """

    def __init__(self, directory: str) -> None:
        self._directory = directory
        self._file: IO[bytes] | None = None
        self._writer: Any = None
        self._name: str | None = None

    @property
    def file_name(self) -> str | None:
        """Base name of this instance's event file, or ``None`` before the first write."""
        return self._name

    def add_scalars(self, step: int, scalars: Mapping[str, float],
                    wall_time: float | None = None) -> None:
        """Write one event holding a scalar per key, all at x = ``step``.

        Args:
            step: The x-axis value (TensorBoard's ``step``), a 64-bit integer.
            scalars: Tag and value of each scalar; a ``/`` in a tag groups charts in the UI.
            wall_time: Seconds since the epoch, default now.
        """
        from tensorboard.compat.proto import summary_pb2

        values = [summary_pb2.Summary.Value(tag=tag, simple_value=value)
                  for tag, value in scalars.items()]
        self._write(step, wall_time, summary=summary_pb2.Summary(value=values))

    def purge_from(self, step: int) -> None:
        """Hide every earlier event whose step is ``>= step`` (events of epochs being re-run).

        Writes a ``SessionLog.START`` event, TensorBoard's restart marker: readers discard the
        data already read with a step at or beyond it, as they did for restarted TF sessions.

        Args:
            step: The first x-axis value to discard.
        """
        from tensorboard.compat.proto import event_pb2

        self._write(step, None, session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START))

    def flush(self) -> None:
        """Flush written events to the operating system."""
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        """Close the event file; a later write starts a new one. Safe to call more than once."""
        if self._file is not None:
            self._file.close()
        self._file = None
        self._writer = None

    def _write(self, step: int, wall_time: float | None, **fields: Any) -> None:
        from tensorboard.compat.proto import event_pb2

        self._open()
        event = event_pb2.Event(wall_time=time.time() if wall_time is None else wall_time,
                                step=step, **fields)
        self._writer.write(event.SerializeToString())
        self._file.flush()

    def _open(self) -> None:
        if self._file is not None:
            return
        from tensorboard.compat.proto import event_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter

        os.makedirs(self._directory, exist_ok=True)
        # TensorBoard's own naming; the counter keeps two files of one process and second apart.
        self._name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                      f"{os.getpid()}.{next(_file_ids)}")
        self._file = open(os.path.join(self._directory, self._name), "wb")  # noqa: SIM115
        self._writer = RecordWriter(self._file)
        # Version 2 tells readers to honour SessionLog.START (see purge_from).
        header = event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2")
        self._writer.write(header.SerializeToString())
