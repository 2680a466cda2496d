"""Exceptions raised by the trainflow engine.

Every class derives from :class:`TrainflowError` and, where a built-in exception has the same
meaning, from that built-in too, so callers can catch either (the pattern Prefect uses).
"""

from __future__ import annotations


class TrainflowError(Exception):
    """Base class of every error raised by trainflow."""


class NotSetupError(TrainflowError):
    """A :class:`~trainer.Trainer` method was called before ``setup()`` or ``restore()``."""


class ConfigError(TrainflowError, ValueError):
    """An argument or option has an invalid value."""


class SnapshotError(TrainflowError, OSError):
    """Base class of errors about snapshots and their storage."""


class NotAFileError(SnapshotError, FileNotFoundError):
    """A requested snapshot file (e.g. ``itr_7.pkl``) does not exist.

    garage raised ``NotAFileError(Exception)``; ours is also a ``FileNotFoundError`` so that
    code catching the built-in keeps working.
    """


class SnapshotStorageError(SnapshotError):
    """The snapshot store could not be read or written (network, permissions, missing bucket)."""


class SnapshotCorruptError(SnapshotError):
    """A committed snapshot's payload does not match its recorded size or sha256."""


class SnapshotUntrustedError(SnapshotError):
    """A snapshot is unsigned, signed with another key, or its signature does not verify."""


class SnapshotIncompatibleError(SnapshotError):
    """A snapshot could not be unpickled with the code and library versions installed now."""


class SnapshotMismatchError(SnapshotError, ValueError):
    """A snapshot belongs to another experiment (other environment or algorithm)."""


class ExperimentLockedError(TrainflowError, RuntimeError):
    """Another live run holds the experiment's snapshot directory."""


class TrainingInterrupted(TrainflowError, KeyboardInterrupt):
    """Training stopped at a safe point because the process was asked to terminate (SIGTERM)."""


class NoDefaultSessionError(TrainflowError, RuntimeError):
    """A TensorFlow component was built without a usable default ``tf.compat.v1.Session``."""


class NumericalError(TrainflowError, FloatingPointError):
    """A computation produced NaN or infinite values that retrying cannot fix."""
