"""One live writer per snapshot directory.

Two runs saving into one ``snapshot_dir`` would interleave their epochs (TensorFlow documents the
same rule for its CheckpointManager: "only one should be active in a particular directory at a
time"); the lease enforces it instead of documenting it.

* Local disk: ``fcntl.flock`` on ``<snapshot_dir>/.trainflow.lease``. The kernel drops the lock
  when the holder's process dies, however it dies, so a new run can start at once.
* S3: the lease object is created with ``If-None-Match: *`` and renewed with
  ``If-Match: <etag>``; it records an expiry, and another run may take it over (again by
  compare-and-swap on the ETag) only after it expired. Renew more often than ``ttl``.
* ``memory://``: a table in this process.
* Other filesystems: no lock (a warning says so).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from trainer.errors import ConfigError, ExperimentLockedError
from trainer.snapshots.storage import Storage

LEASE_FILE = ".trainflow.lease"
_logger = logging.getLogger(__name__)
_memory_leases: dict[str, dict[str, Any]] = {}
_memory_lock = threading.Lock()


class Lease:
    """An exclusive, expiring claim on a snapshot directory, held by one run.

    Args:
        storage: The snapshot directory's storage.
        owner: Who holds the lease, shown to a run that is refused (e.g. a flow run id).
        ttl: Seconds the lease stays valid without :meth:`renew` (S3 and ``memory://``; on
            local disk the lock lasts until release or process death). Default 60.

    Raises:
        ConfigError: If ``owner`` is empty or ``ttl`` is not a positive number.

    Example:
        >>> with Lease(snapshotter.storage, owner="run-42", ttl=300):  # doctest: +SKIP
        ...     trainer.train(n_epochs=10)
    """

    def __init__(self, storage: Storage, owner: str, ttl: float = 60.0) -> None:
        if not isinstance(owner, str) or not owner:
            raise ConfigError(f"owner={owner!r} is not valid: pass a non-empty string (a run id)")
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0:
            raise ConfigError(f"ttl={ttl!r} is not valid: pass a number of seconds > 0")
        self._storage = storage
        self._owner = owner
        self._ttl = float(ttl)
        self._token = uuid.uuid4().hex
        self._since = ""
        self._fd: int | None = None
        self._etag: str | None = None
        self._held = False

    @property
    def held(self) -> bool:
        """Whether this object currently holds the lease."""
        return self._held

    @property
    def url(self) -> str:
        """URL of the lease file."""
        return self._storage.child_url(LEASE_FILE)

    def acquire(self) -> Lease:
        """Take the lease, or fail at once if another live run holds it.

        Returns:
            This lease, held.

        Raises:
            ExperimentLockedError: If another run holds it; the message names its owner, host,
                pid and since when.
            SnapshotStorageError: If the storage fails.
        """
        if self._held:
            return self
        self._since = _now_iso()
        if self._storage.is_local:
            self._acquire_local()
        elif self._storage.is_s3:
            self._acquire_s3()
        elif self._storage.protocol == "memory":
            self._acquire_memory()
        else:
            _logger.warning(
                "no lease for %s: %s has no lock primitive trainflow can use; make sure only "
                "one run writes there",
                self._storage.url,
                self._storage.protocol,
            )
        self._held = True
        return self

    def renew(self) -> None:
        """Push the expiry ``ttl`` seconds into the future.

        Raises:
            ExperimentLockedError: If the lease is not held or was taken over (it expired).
            SnapshotStorageError: If the storage fails.
        """
        if not self._held:
            raise ExperimentLockedError(f"cannot renew the lease on {self.url}: it is not held")
        if self._storage.is_local and self._fd is not None:
            _write_fd(self._fd, self._info())
        elif self._storage.is_s3:
            try:
                self._etag = self._storage.put_conditional(
                    LEASE_FILE, _encode(self._info()), if_match=self._etag
                )
            except FileExistsError:
                self._held = False
                holder = self._read_s3()[0]
                raise _locked(self._storage.url, holder, "; this run's lease had expired") from None
        elif self._storage.protocol == "memory":
            with _memory_lock:
                current = _memory_leases.get(self.url)
                if current is None or current["token"] != self._token:
                    self._held = False
                    raise _locked(self._storage.url, current, "; this run's lease had expired")
                _memory_leases[self.url] = self._info()

    def release(self) -> None:
        """Give the lease up (no-op if not held); storage failures are logged, not raised."""
        if not self._held:
            return
        self._held = False
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing drops the flock; the file stays, to avoid inode races
        elif self._storage.is_s3:
            try:
                _, etag = self._storage.get_with_etag(LEASE_FILE)
                if etag == self._etag:
                    self._storage.delete(LEASE_FILE)
            except (FileNotFoundError, OSError) as exc:
                _logger.warning("could not release the lease %s: %s", self.url, exc)
        elif self._storage.protocol == "memory":
            with _memory_lock:
                current = _memory_leases.get(self.url)
                if current is not None and current["token"] == self._token:
                    del _memory_leases[self.url]

    def __enter__(self) -> Lease:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _info(self) -> dict[str, Any]:
        return {
            "owner": self._owner,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "since": self._since,
            "expires": time.time() + self._ttl,
            "token": self._token,
        }

    def _acquire_local(self) -> None:
        self._storage.ensure_location()
        path = os.path.join(self._storage.local_path or "", LEASE_FILE)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _parse(os.pread(fd, 65536, 0))
            os.close(fd)
            raise _locked(self._storage.url, holder) from None
        self._fd = fd
        _write_fd(fd, self._info())

    def _acquire_memory(self) -> None:
        with _memory_lock:
            current = _memory_leases.get(self.url)
            if current is not None and _expires(current) > time.time():
                raise _locked(self._storage.url, current)
            _memory_leases[self.url] = self._info()

    def _acquire_s3(self) -> None:
        body = _encode(self._info())
        try:
            self._etag = self._storage.put_conditional(LEASE_FILE, body)
            return
        except FileExistsError:
            pass
        holder, etag = self._read_s3()
        if holder is not None and _expires(holder) > time.time():
            raise _locked(self._storage.url, holder, f"; it expires at {_iso(holder['expires'])}")
        try:
            # Compare-and-swap: succeeds only if nobody renewed or took it over since we read it.
            self._etag = self._storage.put_conditional(LEASE_FILE, body, if_match=etag)
        except FileExistsError:
            raise _locked(self._storage.url, self._read_s3()[0]) from None
        _logger.warning("took over the expired lease of %s held by %s", self.url, holder)

    def _read_s3(self) -> tuple[dict[str, Any] | None, str | None]:
        try:
            data, etag = self._storage.get_with_etag(LEASE_FILE)
        except FileNotFoundError:
            return None, None
        return _parse(data), etag


def _locked(url: str, holder: dict[str, Any] | None, extra: str = "") -> ExperimentLockedError:
    if holder:
        who = (
            f"run {holder.get('owner')!r} on {holder.get('host')} (pid {holder.get('pid')}) "
            f"since {holder.get('since')}"
        )
    else:
        who = "another run"
    return ExperimentLockedError(
        f"snapshot_dir {url} is in use by {who}{extra}: wait for that run to finish or stop it, "
        "or use another snapshot_dir"
    )


def _expires(holder: dict[str, Any]) -> float:
    value = holder.get("expires")
    return float(value) if isinstance(value, int | float) else 0.0


def _write_fd(fd: int, info: dict[str, Any]) -> None:
    data = _encode(info)
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
    os.fsync(fd)


def _encode(info: dict[str, Any]) -> bytes:
    return json.dumps(info, sort_keys=True).encode()


def _parse(data: bytes) -> dict[str, Any] | None:
    try:
        info = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return info if isinstance(info, dict) else None


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
