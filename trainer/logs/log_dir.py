"""Where an experiment's log files live, and how they reach a remote ``snapshot_dir``.

The layout is fixed, next to the snapshots::

    <snapshot_dir>/progress.csv          one row per epoch
    <snapshot_dir>/debug.log             the text log
    <snapshot_dir>/tb/events.out.tfevents.*   TensorBoard event files

A local directory (a path or a ``file://`` URL) is written in place. For any other fsspec URL
(``s3://``, ``memory://``, ...) the files are written to a local staging directory and the
changed ones are uploaded whole, through :class:`trainer.snapshots.Storage` (atomic writes, a
deadline on every call), each time :meth:`LogDir.push` is called (after every dump).
``progress.csv`` and ``debug.log`` are downloaded into the staging directory first, so a resumed
run appends to them; event files are never downloaded, because a new process writes a new one.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from typing import TYPE_CHECKING, Any

import fsspec.core

from trainer.errors import SnapshotStorageError

if TYPE_CHECKING:
    from trainer.snapshots import Storage

PROGRESS_CSV = "progress.csv"
DEBUG_LOG = "debug.log"
TB_DIR = "tb"
_APPENDED_FILES = (PROGRESS_CSV, DEBUG_LOG)
_LOCAL_PROTOCOLS = (None, "file", "local")

_log = logging.getLogger("trainflow")


class LogDir:
    """Resolves log file names to local paths and uploads changed files of a remote directory.

    Nothing is created, downloaded or uploaded until a file is first asked for.

    Args:
        url: The experiment's ``snapshot_dir``: a local path or an fsspec URL.
        storage_options: fsspec options of a remote URL (e.g. S3 credentials and endpoint).
    """

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        self.url = url
        self._storage_options = storage_options
        protocol, path = fsspec.core.split_protocol(url)
        is_local = protocol in _LOCAL_PROTOCOLS
        self._local_root = os.path.abspath(os.path.expanduser(path)) if is_local else None
        # One storage per directory: Storage names are plain file names (no "/").
        self._storages: dict[str, Storage] = {}
        self._staging: str | None = None
        self._changed: set[str] = set()
        self._warned_upload = False

    @property
    def is_remote(self) -> bool:
        """Whether files are staged locally and uploaded (``False`` for a local directory)."""
        return self._local_root is None

    @property
    def root(self) -> str:
        """The local directory the files are written in (the staging directory if remote).

        Raises:
            SnapshotStorageError: If the existing remote logs could not be downloaded; writing
                on would overwrite them with a shorter history.
        """
        if self._local_root is not None:
            return self._local_root
        if self._staging is None:
            staging = tempfile.mkdtemp(prefix="trainflow-logs-")
            try:
                self._download(staging)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            self._staging = staging
        return self._staging

    def path(self, name: str) -> str:
        """Return the local path of log file ``name`` (e.g. ``"progress.csv"``, ``"tb/x"``)."""
        return os.path.join(self.root, *name.split("/"))

    def mark_changed(self, name: str) -> None:
        """Note that ``name`` was written since the last :meth:`push`."""
        if self.is_remote:
            self._changed.add(name)

    def push(self) -> bool:
        """Upload every changed file of a remote directory (no-op for a local one).

        A failed upload is retried by the next push instead of stopping training: a warning
        names the error, and the file stays marked as changed.

        Returns:
            Whether every changed file is now uploaded.
        """
        if not self._changed:
            return True
        for name in sorted(self._changed):
            directory, _, base = name.rpartition("/")
            try:
                with open(self.path(name), "rb") as file:
                    self._storage(directory).put_atomic(base, file.read())
            except OSError as exc:
                if not self._warned_upload:
                    warnings.warn(f"could not upload log file {name!r} to {self.url!r}: {exc}; "
                                  "it is retried after the next dump (logs are staged in "
                                  f"{self._staging!r})", RuntimeWarning, stacklevel=3)
                    self._warned_upload = True
                return False
            self._changed.discard(name)
        self._warned_upload = False
        return True

    def close(self) -> None:
        """Upload what changed and remove the staging directory. Safe to call more than once.

        If an upload still fails, the staging directory is kept and its path logged, so the
        files can be copied by hand.
        """
        if self._staging is None:
            return
        if self.push():
            shutil.rmtree(self._staging, ignore_errors=True)
        else:
            _log.error("log files of %s could not be uploaded: %s; they are kept in %s",
                       self.url, sorted(self._changed), self._staging)
        self._staging = None
        self._changed.clear()

    def _download(self, staging: str) -> None:
        storage = self._storage("")
        for name in _APPENDED_FILES:
            try:
                data = storage.get(name)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise SnapshotStorageError(
                    f"could not download the existing {name!r} from {self.url!r}: {exc}. The "
                    "run would overwrite it; check that the storage is reachable and retry."
                ) from exc
            with open(os.path.join(staging, name), "wb") as file:
                file.write(data)

    def _storage(self, directory: str) -> Storage:
        if directory not in self._storages:
            from trainer.snapshots import open_storage

            url = f"{self.url.rstrip('/')}/{directory}" if directory else self.url
            self._storages[directory] = open_storage(url, self._storage_options)
        return self._storages[directory]
