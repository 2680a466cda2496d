"""garage's Snapshotter on any fsspec storage, with atomic commits, integrity checks and signing.

File names and modes are garage's (``itr_N.pkl``, ``params.pkl``). Each payload gets a commit
record ``<payload>.commit.json`` written after it (see :mod:`trainer.snapshots.records`); a
payload without a valid record does not exist for :meth:`Snapshotter.load`. Replacing a payload
that is already committed (``params.pkl`` every epoch, or an ``itr_N.pkl`` saved again after a
resume) is two-phase, so the old snapshot stays loadable until the new one is committed::

    1. record {committed: old, pending: new}
    2. payload (atomic: temp + rename locally, a single PUT on object stores)
    3. record {committed: new, pending: null}      <- commit point

A crash before 2 leaves the old payload, which matches ``committed``; a crash between 2 and 3
leaves the new one, which matches ``pending`` and is rolled forward on load.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import time
import uuid
from typing import Any

import cloudpickle

from trainer.errors import (
    ConfigError,
    NotAFileError,
    SnapshotCorruptError,
    SnapshotIncompatibleError,
    SnapshotUntrustedError,
)
from trainer.snapshots import records, signing
from trainer.snapshots.storage import TMP_MARKER, Storage, open_storage

MODES = ("all", "last", "gap", "gap_and_last", "gap_overwrite", "none")
TMP_MAX_AGE = 600.0
_READ_ATTEMPTS = 3
_TMP_FILE = re.compile(r"\..+" + re.escape(TMP_MARKER) + r"[0-9a-f]{32}")
_RESERVED_SUFFIXES = (".pkl", records.SUFFIX)
_logger = logging.getLogger(__name__)


class Snapshotter:
    """Saves and loads snapshots (cloudpickled dicts) the way garage's Snapshotter did.

    ``snapshot_mode`` chooses which files a save writes (garage's table):

    ================  ===========================  =================================
    mode              written on every save        written when ``itr % gap == 0``
    ================  ===========================  =================================
    ``all``           ``itr_<itr>.pkl``            -
    ``last``          ``params.pkl`` (replaced)    -
    ``gap``           -                            ``itr_<itr>.pkl``
    ``gap_and_last``  ``params.pkl`` (replaced)    ``itr_<itr>.pkl``
    ``gap_overwrite`` -                            ``params.pkl`` (replaced)
    ``none``          nothing                      nothing
    ================  ===========================  =================================

    Modes only choose what is written; a committed snapshot is never deleted.

    Args:
        snapshot_dir: Local path or fsspec URL (``s3://bucket/run``, ``memory://run``).
            Default: ``<cwd>/data/local/experiment``. Local directories are created at once; an
            S3 bucket must exist already.
        snapshot_mode: One of the modes above. Default ``"last"``.
        snapshot_gap: Epochs between snapshots in the ``gap*`` modes. Default 1.
        storage_options: Filesystem options (see :class:`~trainer.snapshots.Storage`).
            Default ``None``: the usual environment (``AWS_*`` variables, fsspec config).

    Raises:
        ConfigError: (a ``ValueError``) for an unknown mode, a gap that is not an integer >= 1,
            ``'last'`` with ``snapshot_gap != 1``, ``'gap_overwrite'`` with ``snapshot_gap <= 1``
            or an unusable ``snapshot_dir``. Nothing is written for bad arguments.
        SnapshotStorageError: If a local ``snapshot_dir`` cannot be created, or an S3 bucket
            does not exist or cannot be reached (checked at construction, before training).

    Example:
        >>> snapshotter = Snapshotter("/tmp/run", snapshot_mode="all")  # doctest: +SKIP
        >>> snapshotter.save_itr_params(0, {"algo": algo})  # doctest: +SKIP
        >>> snapshotter.load("/tmp/run", "last")["algo"]  # doctest: +SKIP
    """

    def __init__(
        self,
        snapshot_dir: str | None = None,
        snapshot_mode: str = "last",
        snapshot_gap: int = 1,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        check_snapshot_options(snapshot_mode, snapshot_gap)
        if snapshot_dir is None:
            snapshot_dir = os.path.join(os.getcwd(), "data/local/experiment")
        if not isinstance(snapshot_dir, str | os.PathLike):
            raise ConfigError(
                f"snapshot_dir={snapshot_dir!r} is not valid: pass a local path or a URL such as "
                "'s3://bucket/run'"
            )
        self._snapshot_dir = os.fspath(snapshot_dir)
        self._snapshot_mode = snapshot_mode
        self._snapshot_gap = snapshot_gap
        self._storage_options = dict(storage_options) if storage_options else None
        self._storage = open_storage(self._snapshot_dir, storage_options)
        self._run_id = uuid.uuid4().hex
        # Fail at setup, not after the first epoch: a local dir is created, a bucket checked.
        self._storage.ensure_location()

    @property
    def snapshot_dir(self) -> str:
        """Where snapshots are written (as passed to the constructor)."""
        return self._snapshot_dir

    @property
    def snapshot_mode(self) -> str:
        """Which files each save writes (see the class docstring)."""
        return self._snapshot_mode

    @property
    def snapshot_gap(self) -> int:
        """Epochs between snapshots in the ``gap*`` modes."""
        return self._snapshot_gap

    @property
    def storage(self) -> Storage:
        """The :class:`~trainer.snapshots.Storage` of ``snapshot_dir``."""
        return self._storage

    @property
    def run_id(self) -> str:
        """Random id of this Snapshotter, recorded in every commit record it writes."""
        return self._run_id

    def save_itr_params(self, itr: int, params: dict[str, Any]) -> None:
        """Save the snapshot of epoch ``itr`` as the mode requires, and commit it.

        Args:
            itr: The epoch (>= 0).
            params: The snapshot; anything cloudpickle can pickle.

        Raises:
            ConfigError: If ``itr`` is not an integer >= 0, or the signing key is invalid or
                required but missing (checked before anything is written).
            SnapshotStorageError: If the storage fails; the previous snapshots stay intact and
                saving the same epoch again is safe.
        """
        _check_epoch("itr", itr)
        files = self._files_for(itr)
        if not files:
            return
        key = signing.load_key()
        try:
            data = cloudpickle.dumps(params)
        except Exception as exc:
            exc.add_note(f"trainflow: while pickling the snapshot of epoch {itr}")
            raise
        entry = records.make_entry(itr, data)
        experiment = _experiment_of(params)
        for name in files:
            self._commit(name, data, entry, key, experiment)
        if self._storage.is_local:
            self.sweep_tmp()

    def load(
        self,
        load_dir: str,
        itr: int | str = "last",
        storage_options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Load a committed snapshot, checking its signature, size and sha256 first.

        ``'last'`` and ``'first'`` return ``params.pkl`` when it exists (garage); otherwise the
        newest or oldest ``itr_N.pkl`` (numeric order). With ``'last'``, a damaged snapshot
        is skipped with a warning naming it and the newest intact one is loaded.

        Args:
            load_dir: Directory or URL to load from (may differ from ``snapshot_dir``).
            itr: ``'last'``, ``'first'``, an epoch ``int`` >= 0 or a digit string. Default
                ``'last'``.
            storage_options: Filesystem options for ``load_dir``. Default ``None``: this
                Snapshotter's own options.

        Returns:
            The unpickled snapshot.

        Raises:
            ConfigError: (a ``ValueError``) for an invalid ``itr``, before any I/O; the text for
                unknown strings is garage's "itr should be an integer or 'last' or 'first'".
            FileNotFoundError: If ``load_dir`` is missing or has no committed snapshot.
            NotAFileError: If the requested ``itr_N.pkl`` is not committed.
            SnapshotCorruptError: If the snapshot (every snapshot, for ``'last'``) is damaged.
            SnapshotUntrustedError: If a signing key is set and a record fails verification;
                never skipped silently.
            SnapshotIncompatibleError: If the payload cannot be unpickled here.
            SnapshotStorageError: If the storage fails.
        """
        which = _parse_itr(itr)
        key = signing.load_key()
        storage = self._storage_for(load_dir, storage_options)
        committed = self._committed_names(storage, load_dir)
        if isinstance(which, int):
            name = records.itr_file(which)
            if name not in committed:
                raise NotAFileError(self._missing_epoch_message(storage, name, committed))
            return self._load_verified(storage, name, key)
        candidates = _candidates(committed, which)
        if which == "first":
            return self._load_verified(storage, candidates[0], key)
        failures: list[str] = []
        for name in candidates:
            try:
                return self._load_verified(storage, name, key)
            except SnapshotCorruptError as exc:
                failures.append(str(exc))
                _logger.warning("skipping damaged snapshot %s: %s", storage.child_url(name), exc)
        raise SnapshotCorruptError(f"no intact snapshot in {load_dir}: " + "; ".join(failures))

    def list_epochs(self, load_dir: str | None = None) -> list[int]:
        """Epochs that have a committed snapshot, ascending.

        ``itr_N.pkl`` count by their record; ``params.pkl`` counts with the epoch it holds.
        Payloads are not verified here (:meth:`load` does that).

        Args:
            load_dir: Directory or URL. Default ``None``: ``snapshot_dir``.

        Returns:
            The epochs; empty if the directory is missing or holds no committed snapshot.

        Raises:
            SnapshotStorageError: If the storage fails.
        """
        storage = self._storage if load_dir is None else self._storage_for(load_dir, None)
        try:
            names = storage.listdir()
        except FileNotFoundError:
            return []
        epochs: set[int] = set()
        for name in names:
            payload = records.payload_of(name)
            if payload is None:
                continue
            epoch = records.itr_epoch(payload)
            if epoch is None:
                epoch = self._params_epoch(storage)
            if epoch is not None:
                epochs.add(epoch)
        return sorted(epochs)

    def latest_epoch(self, load_dir: str | None = None) -> int | None:
        """The newest committed epoch, or ``None`` if there is none (see :meth:`list_epochs`)."""
        epochs = self.list_epochs(load_dir)
        return epochs[-1] if epochs else None

    def write_file(self, name: str, data: bytes) -> None:
        """Atomically write a sidecar file (e.g. ``experiment.json``) into ``snapshot_dir``.

        Args:
            name: A plain file name; not a snapshot name (``*.pkl``, ``*.commit.json``).
            data: The bytes.

        Raises:
            ConfigError: If ``name`` is not a plain file name or is a snapshot name.
            SnapshotStorageError: If the storage fails.
        """
        if isinstance(name, str) and name.endswith(_RESERVED_SUFFIXES):
            raise ConfigError(
                f"name={name!r} is reserved for snapshots; write sidecar files under another name"
            )
        self._storage.put_atomic(name, bytes(data))

    def sweep_tmp(self, max_age: float = TMP_MAX_AGE) -> list[str]:
        """Delete temp files of interrupted local writes older than ``max_age`` seconds.

        Younger ones are kept because another writer may still be writing them. Object stores
        have no temp files (their writes are single PUTs).

        Args:
            max_age: Minimum age in seconds of a temp file to delete. Default 600.

        Returns:
            The names deleted.
        """
        root = self._storage.local_path
        if root is None:
            return []
        try:
            names = os.listdir(root)
        except OSError:
            return []
        now, removed = time.time(), []
        for name in names:
            if not _TMP_FILE.fullmatch(name):
                continue
            path = os.path.join(root, name)
            try:
                if now - os.path.getmtime(path) >= max_age:
                    os.remove(path)
                    removed.append(name)
            except OSError:
                continue
        return removed

    def _files_for(self, itr: int) -> list[str]:
        mode, on_gap = self._snapshot_mode, itr % self._snapshot_gap == 0
        itr_file, params = records.itr_file(itr), records.PARAMS_FILE
        plan = {
            "all": [itr_file],
            "last": [params],
            "gap": [itr_file] if on_gap else [],
            "gap_and_last": ([itr_file] if on_gap else []) + [params],
            "gap_overwrite": [params] if on_gap else [],
            "none": [],
        }
        return plan[mode]

    def _commit(
        self,
        name: str,
        data: bytes,
        entry: dict[str, Any],
        key: bytes | None,
        experiment: dict[str, str],
    ) -> None:
        old = self._current_entry(name, key)
        if old is not None:
            self._put_record(name, old, entry, key, experiment)
        self._storage.put_atomic(name, data)
        self._put_record(name, entry, None, key, experiment)

    def _put_record(
        self,
        name: str,
        committed: dict[str, Any],
        pending: dict[str, Any] | None,
        key: bytes | None,
        experiment: dict[str, str],
    ) -> None:
        record = records.make_record(name, committed, pending, self._run_id, experiment)
        data = records.encode(signing.sign(record, key))
        self._storage.put_atomic(records.record_name(name), data)

    def _current_entry(self, name: str, key: bytes | None) -> dict[str, Any] | None:
        """The entry the stored ``name`` is committed as, if it can be trusted; else ``None``."""
        url = self._storage.child_url(records.record_name(name))
        try:
            record = records.decode(url, self._storage.get(records.record_name(name)))
            signing.verify(record, key, url, remote=False)
        except FileNotFoundError:
            return None
        except (SnapshotCorruptError, SnapshotIncompatibleError, SnapshotUntrustedError) as exc:
            # A record we cannot trust must not be re-signed as "committed" by us.
            _logger.warning("replacing %s whose commit record is unusable: %s", name, exc)
            return None
        if record.get("file") != name:
            return None
        if record.get("pending") is None:
            return record["committed"]
        try:
            data = self._storage.get(name)
        except FileNotFoundError:
            return None
        return records.matching_entry(record, data)

    def _params_epoch(self, storage: Storage) -> int | None:
        name = records.PARAMS_FILE
        url = storage.child_url(records.record_name(name))
        try:
            record = records.decode(url, storage.get(records.record_name(name)))
            if record.get("pending") is None:
                return records.epoch_of(record)
            entry = records.matching_entry(record, storage.get(name))
        except (FileNotFoundError, SnapshotCorruptError, SnapshotIncompatibleError):
            return None
        return None if entry is None else int(entry["epoch"])

    def _storage_for(self, load_dir: str, storage_options: dict[str, Any] | None) -> Storage:
        if load_dir == self._snapshot_dir and storage_options is None:
            return self._storage
        options = self._storage_options if storage_options is None else storage_options
        return open_storage(load_dir, options)

    def _committed_names(self, storage: Storage, load_dir: str) -> set[str]:
        try:
            names = storage.listdir()
        except FileNotFoundError:
            raise FileNotFoundError(
                errno.ENOENT,
                f"snapshot directory does not exist: {load_dir}; pass the snapshot_dir of a run "
                "that saved snapshots",
                load_dir,
            ) from None
        committed = {p for p in map(records.payload_of, names) if p is not None}
        if not committed:
            stray = sorted(n for n in names if n.endswith(".pkl"))
            hint = (
                f" ({', '.join(stray[:5])} without commit records: interrupted saves or files "
                "not written by trainflow, which are never loaded)"
                if stray
                else ""
            )
            raise FileNotFoundError(
                errno.ENOENT,
                f"No committed snapshot (*.pkl with a .commit.json record) in {load_dir}{hint}",
                load_dir,
            )
        return committed

    def _missing_epoch_message(self, storage: Storage, name: str, committed: set[str]) -> str:
        epochs = sorted(e for e in map(records.itr_epoch, committed) if e is not None)
        hint = ""
        if records.PARAMS_FILE in committed:
            hint = f"; params.pkl holds epoch {self._params_epoch(storage)}: load it with 'last'"
        return (
            f"File not existing: {storage.child_url(name)} has no committed snapshot; committed "
            f"itr_N.pkl epochs: {epochs}{hint}"
        )

    def _load_verified(self, storage: Storage, name: str, key: bytes | None) -> dict[str, Any]:
        record_name, url = records.record_name(name), storage.child_url(name)
        record_url = storage.child_url(record_name)
        raw = storage.get(record_name)
        for _ in range(_READ_ATTEMPTS):
            record = records.decode(record_url, raw)
            signing.verify(record, key, record_url, remote=not storage.is_local)
            if record.get("file") != name:
                raise _wrong_file(record_url, record, name, signed=key is not None)
            try:
                data = storage.get(name)
            except FileNotFoundError:
                data = None
            entry = None if data is None else records.matching_entry(record, data)
            if entry is not None:
                return _unpickle(url, data, entry)
            # A live writer may have replaced the payload after we read its record (a reader
            # concurrent with a 'last'-mode save): if the record moved on, match against it.
            newer = storage.get(record_name)
            if newer == raw:
                break
            raw = newer
        if data is None:
            raise SnapshotCorruptError(
                f"{url} is missing although {record_url} commits it; restore another epoch"
            )
        expected = record.get("committed") or record.get("pending")
        raise SnapshotCorruptError(
            f"{url} is damaged: {len(data)} bytes, expected {expected['size']} bytes with "
            f"sha256 {expected['sha256'][:16]}...; restore another epoch"
        )


def check_snapshot_options(mode: str, gap: int) -> None:
    """Raise ``ConfigError`` unless ``mode`` and ``gap`` are a valid snapshot mode and gap."""
    if mode not in MODES:
        raise ConfigError(
            f"Invalid snapshot mode {mode!r}: snapshot_mode must be one of {', '.join(MODES)}"
        )
    if isinstance(gap, bool) or not isinstance(gap, int) or gap < 1:
        raise ConfigError(f"snapshot_gap={gap!r} is not valid: pass an integer >= 1")
    if mode == "gap_overwrite" and gap <= 1:
        raise ConfigError(
            'snapshot_gap must be > 1 when using snapshot_mode="gap_overwrite". Use '
            'snapshot_mode="last" to snapshot after every iteration.'
        )
    if mode == "last" and gap != 1:
        raise ConfigError(
            'snapshot_gap should be set to 1 if using snapshot_mode="last". Did you mean to '
            'use snapshot_mode="gap"?'
        )


def _check_epoch(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{name}={value!r} is not valid: pass an epoch, an integer >= 0")


def _parse_itr(itr: Any) -> int | str:
    if isinstance(itr, str):
        if itr in ("last", "first"):
            return itr
        if itr.isdigit():
            return int(itr)
        raise ConfigError(
            f"itr should be an integer or 'last' or 'first', got {itr!r}: pass an epoch number "
            "(e.g. 3 or '3'), 'last' or 'first'"
        )
    _check_epoch("itr", itr)
    return itr


def _candidates(committed: set[str], which: str) -> list[str]:
    itrs = sorted(
        (n for n in committed if records.itr_epoch(n) is not None),
        key=records.itr_epoch,
        reverse=which == "last",
    )
    # garage returns params.pkl for both 'last' and 'first' whenever it exists.
    return ([records.PARAMS_FILE] if records.PARAMS_FILE in committed else []) + itrs


def _wrong_file(url: str, record: dict[str, Any], name: str, *, signed: bool) -> Exception:
    message = (
        f"{url} commits {record.get('file')!r}, not {name!r}: the snapshot was copied or "
        "renamed from another file; restore the epoch under its own name"
    )
    return SnapshotUntrustedError(message) if signed else SnapshotCorruptError(message)


def _unpickle(url: str, data: bytes, entry: dict[str, Any]) -> Any:
    try:
        return cloudpickle.loads(data)
    except Exception as exc:
        now = records.library_versions()
        raise SnapshotIncompatibleError(
            f"cannot unpickle {url} (epoch {entry['epoch']}): {type(exc).__name__}: {exc}. It "
            f"was saved with {entry.get('versions')}; this process has {now}. Install the code "
            "and library versions it was saved with"
        ) from exc


def _experiment_of(params: Any) -> dict[str, str]:
    if not isinstance(params, dict):
        return {}
    found = {}
    for field in ("algo", "env"):
        obj = params.get(field)
        if obj is not None:
            found[field] = f"{type(obj).__module__}.{type(obj).__qualname__}"
    return found
