"""One directory-like location on any fsspec filesystem, with atomic writes and deadlines.

Local paths get their own atomic write (temp file in the same directory, ``fsync``,
``os.replace``, ``fsync`` of the directory) because fsspec's ``LocalFileSystem.open("wb")`` writes
in place and its transactions stage files in the system temp dir. Object stores need nothing
special: a single PUT either replaces the whole object or leaves the old one.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import uuid
from collections.abc import Callable
from typing import Any

import fsspec
from fsspec.asyn import AsyncFileSystem
from fsspec.implementations.local import LocalFileSystem

from trainer.errors import ConfigError, SnapshotStorageError
from trainer.snapshots.storage_errors import is_missing_bucket, is_storage_failure, storage_error

DEFAULT_TIMEOUT = 60.0
TIMEOUT_ENV = "TRAINFLOW_STORAGE_TIMEOUT"
TMP_MARKER = ".tmp-"
_S3_PROTOCOLS = {"s3", "s3a"}


class Storage:
    """One directory-like location (``snapshot_dir``) on a local disk or any fsspec filesystem.

    Every remote call runs under a deadline of ``timeout`` seconds (fsspec's ``timeout=``, so a
    stalled endpoint can never hang training), and every storage failure is raised as
    :class:`~trainer.errors.SnapshotStorageError` naming the URL, the operation and what to do.
    Listings always go to the server: the filesystem is built with ``skip_instance_cache=True``
    and the listing cache is dropped before each ``listdir``.

    Args:
        url: A local path, or an fsspec URL such as ``file:///data/run``, ``s3://bucket/run`` or
            ``memory://run`` (``memory://`` lives in this process only).
        storage_options: Keyword arguments for the filesystem (for S3: ``endpoint_url``,
            ``key``, ``secret``, ``profile``, ``anon``, ``config_kwargs``, ...). One extra key,
            ``retries`` (int), sets s3fs's retry count. Default ``None``: the usual environment
            (``AWS_*`` variables, fsspec config).
        timeout: Deadline in seconds for each remote call. Default 60.

    Raises:
        ConfigError: If the URL's protocol is unknown, its backend is not installed, an S3 URL
            has no bucket, or ``storage_options`` is rejected by the filesystem.
    """

    def __init__(
        self, url: str, storage_options: dict[str, Any] | None = None, timeout: float = 60.0
    ) -> None:
        if not isinstance(url, str | os.PathLike) or not str(url):
            raise ConfigError(
                f"snapshot_dir={url!r} is not valid: pass a local path or a URL such as "
                "'s3://bucket/run'"
            )
        if storage_options is not None and not isinstance(storage_options, dict):
            raise ConfigError(
                f"storage_options must be a dict or None, got {type(storage_options).__name__}"
            )
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigError(f"timeout={timeout!r} is not valid: pass a number of seconds > 0")
        self._url = os.fspath(url)
        self._timeout = float(timeout)
        options = dict(storage_options or {})
        retries = options.pop("retries", None)
        self._fs, root = _make_filesystem(self._url, options)
        protocols = (
            {self._fs.protocol} if isinstance(self._fs.protocol, str) else set(self._fs.protocol)
        )
        self._is_local = isinstance(self._fs, LocalFileSystem)
        self._is_s3 = bool(protocols & _S3_PROTOCOLS)
        self._root = root if self._is_local else root.rstrip("/")
        if self._is_s3 and not self._root.strip("/"):
            raise ConfigError(
                f"snapshot_dir={self._url!r} has no bucket: use 's3://<bucket>/<prefix>'"
            )
        if retries is not None:
            self._fs.retries = int(retries)
        self._endpoint = options.get("endpoint_url") or getattr(self._fs, "endpoint_url", None)

    @property
    def url(self) -> str:
        """The URL or path this storage was opened with."""
        return self._url

    @property
    def is_local(self) -> bool:
        """Whether the location is on the local filesystem (plain path or ``file://``)."""
        return self._is_local

    @property
    def is_s3(self) -> bool:
        """Whether the location is on S3 or an S3-compatible server."""
        return self._is_s3

    @property
    def local_path(self) -> str | None:
        """The absolute local directory, or ``None`` for remote storage."""
        return self._root if self._is_local else None

    @property
    def protocol(self) -> str:
        """The filesystem's main protocol name (``file``, ``s3``, ``memory``, ...)."""
        protocol = self._fs.protocol
        return protocol if isinstance(protocol, str) else protocol[0]

    @property
    def timeout(self) -> float:
        """Deadline in seconds of each remote call."""
        return self._timeout

    def child_url(self, name: str) -> str:
        """Return the URL of ``name`` inside this location, for messages."""
        return f"{self._url.rstrip('/')}/{name}"

    def put_atomic(self, name: str, data: bytes) -> None:
        """Write ``name`` so that readers see either the old object or all of ``data``.

        Local: a temp file ``.<name>.tmp-<uuid>`` in the same directory, ``fsync``,
        ``os.replace``, ``fsync`` of the directory (the directory is created if needed).
        Object stores: one PUT (or a multipart upload, visible only once complete).

        Args:
            name: A plain file name inside the location (no ``/``).
            data: The bytes to store.

        Raises:
            SnapshotStorageError: If the write fails (the old object, if any, is unchanged).
        """
        _check_name(name)
        if self._is_local:
            self._guard("write", name, self._put_local, name, data)
        else:
            self._remote("write", name, self._fs.pipe_file, self._path(name), data)

    def get(self, name: str) -> bytes:
        """Read the whole object ``name``.

        Raises:
            FileNotFoundError: If ``name`` does not exist.
            SnapshotStorageError: If the storage fails (includes a missing bucket).
        """
        _check_name(name)
        if self._is_local:
            return self._guard("read", name, _read_local, os.path.join(self._root, name))
        path = self._path(name)
        self._fs.invalidate_cache(path)
        return self._remote("read", name, self._fs.cat_file, path)

    def exists(self, name: str) -> bool:
        """Tell whether the object ``name`` exists (asks the server, never a cache).

        Raises:
            SnapshotStorageError: If the storage fails (includes a missing bucket).
        """
        _check_name(name)
        if self._is_local:
            return os.path.isfile(os.path.join(self._root, name))
        path = self._path(name)
        self._fs.invalidate_cache(path)
        try:
            self._remote("check", name, self._fs.info, path)
        except FileNotFoundError:
            return False
        return True

    def listdir(self) -> list[str]:
        """List the names in the location, fresh from the server.

        Returns:
            Plain names (no directory part), sorted.

        Raises:
            FileNotFoundError: If the directory does not exist (on S3: no object has the prefix).
            SnapshotStorageError: If the storage fails (includes a missing bucket, or a local
                ``snapshot_dir`` that is a file).
        """
        if self._is_local:
            return sorted(self._guard("list", "", os.listdir, self._root))
        self._fs.invalidate_cache(self._root)
        entries = self._remote("list", "", self._fs.ls, self._root, detail=False, refresh=True)
        root = self._root.strip("/")
        paths = (str(e).strip("/") for e in entries)
        # Some filesystems list a path itself (e.g. when it is a file); that is not a child.
        names = {posixpath.basename(p) for p in paths if p and p != root}
        return sorted(names)

    def delete(self, name: str) -> None:
        """Delete the object ``name``; a missing object is not an error.

        Raises:
            SnapshotStorageError: If the storage fails.
        """
        _check_name(name)
        if self._is_local:
            with contextlib.suppress(FileNotFoundError):
                self._guard("delete", name, os.remove, os.path.join(self._root, name))
            return
        with contextlib.suppress(FileNotFoundError):
            self._remote("delete", name, self._fs.rm_file, self._path(name))
        self._fs.invalidate_cache(self._root)

    def ensure_location(self) -> None:
        """Check that the location can be used before anything is written there.

        Local: creates the directory (``mkdir -p``). S3: checks that the bucket exists, so a
        typo fails at setup with a message naming the bucket, not after the first epoch.

        Raises:
            SnapshotStorageError: If the directory cannot be created, is a file, or the bucket
                does not exist or cannot be reached.
        """
        if self._is_local:
            if os.path.exists(self._root) and not os.path.isdir(self._root):
                raise SnapshotStorageError(
                    f"cannot use snapshot_dir {self._url}: it is a file, not a directory; "
                    "pass a directory path"
                )
            self._guard("create", "", os.makedirs, self._root, exist_ok=True)
            return
        if self._is_s3:
            bucket = self._root.strip("/").split("/", 1)[0]
            self._fs.invalidate_cache(bucket)
            try:
                self._remote("check", "", self._fs.info, bucket)
            except FileNotFoundError as exc:
                raise storage_error(
                    self._url, "use", FileNotFoundError("The specified bucket does not exist")
                ) from exc

    def put_conditional(self, name: str, data: bytes, if_match: str | None = None) -> str:
        """Write ``name`` only if it does not exist (``if_match=None``) or has ETag ``if_match``.

        S3 only (``If-None-Match: *`` / ``If-Match`` conditional PUTs); used by
        :class:`~trainer.snapshots.Lease`.

        Args:
            name: A plain file name inside the location.
            data: The bytes to store.
            if_match: The ETag the current object must have, or ``None`` to require absence.

        Returns:
            The new object's ETag.

        Raises:
            FileExistsError: If the precondition did not hold.
            NotImplementedError: If the storage is not S3.
            SnapshotStorageError: If the storage fails.
        """
        _check_name(name)
        if not self._is_s3:
            raise NotImplementedError(f"conditional writes need S3; {self._url} is {self.protocol}")
        kwargs: dict[str, Any] = {"mode": "create"} if if_match is None else {"IfMatch": if_match}
        try:
            out = self._remote("write", name, self._fs.pipe_file, self._path(name), data, **kwargs)
        except SnapshotStorageError as exc:
            # s3fs maps a failed If-Match to OSError(EINVAL, "...pre-conditions...").
            if "pre-condition" in str(exc.__cause__):
                url = self.child_url(name)
                raise FileExistsError(f"{url} changed (ETag != {if_match})") from exc
            raise
        return str(out["ETag"])

    def get_with_etag(self, name: str) -> tuple[bytes, str]:
        """Read ``name`` and the ETag of the version read (S3 only).

        The ETag is read first, so the data is that version or a newer one: a compare-and-swap
        with this ETag can only succeed if nothing changed after the data was judged.

        Raises:
            FileNotFoundError: If ``name`` does not exist.
            NotImplementedError: If the storage is not S3.
            SnapshotStorageError: If the storage fails.
        """
        if not self._is_s3:
            raise NotImplementedError(f"ETags need S3; {self._url} is {self.protocol}")
        path = self._path(name)
        self._fs.invalidate_cache(path)
        info = self._remote("check", name, self._fs.info, path)
        return self.get(name), str(info["ETag"])

    def _path(self, name: str) -> str:
        return f"{self._root}/{name}" if name else self._root

    def _put_local(self, name: str, data: bytes) -> None:
        os.makedirs(self._root, exist_ok=True)
        final = os.path.join(self._root, name)
        tmp = os.path.join(self._root, f".{name}{TMP_MARKER}{uuid.uuid4().hex}")
        try:
            with open(tmp, "xb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise
        # The rename itself is only durable once the directory entry is on disk.
        _fsync_dir(self._root)

    def _guard(self, op: str, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a local call; storage failures other than a missing file become storage errors."""
        try:
            return fn(*args, **kwargs)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise storage_error(self.child_url(name) if name else self._url, op, exc) from exc

    def _remote(self, op: str, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a remote call under the deadline and translate its failures.

        A plain missing object stays ``FileNotFoundError``; a missing bucket does not.
        """
        if isinstance(self._fs, AsyncFileSystem):
            kwargs["timeout"] = self._timeout
        target = self.child_url(name) if name else self._url
        try:
            return fn(*args, **kwargs)
        except FileNotFoundError as exc:
            if is_missing_bucket(exc):
                raise storage_error(target, op, exc) from exc
            raise
        except FileExistsError:
            raise
        except Exception as exc:
            if not is_storage_failure(exc):
                raise
            raise storage_error(
                target, op, exc, timeout=self._timeout, endpoint=self._endpoint
            ) from exc

    def __repr__(self) -> str:
        return f"Storage({self._url!r})"


def open_storage(
    url: str, storage_options: dict[str, Any] | None = None, timeout: float | None = None
) -> Storage:
    """Open a :class:`Storage` for ``url``.

    Args:
        url: A local path or fsspec URL.
        storage_options: Keyword arguments for the filesystem. Default ``None``.
        timeout: Deadline in seconds of each remote call. Default ``None``: the
            ``TRAINFLOW_STORAGE_TIMEOUT`` environment variable, else 60.

    Returns:
        The storage.

    Raises:
        ConfigError: As :class:`Storage`, or if ``TRAINFLOW_STORAGE_TIMEOUT`` is not a positive
            number.
    """
    return Storage(url, storage_options, timeout=default_timeout() if timeout is None else timeout)


def default_timeout() -> float:
    """The storage deadline from ``TRAINFLOW_STORAGE_TIMEOUT`` (seconds), default 60.

    Raises:
        ConfigError: If the variable is set but is not a positive number.
    """
    raw = os.environ.get(TIMEOUT_ENV)
    if raw is None or raw.strip() == "":
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigError(
            f"{TIMEOUT_ENV}={raw!r} is not valid: set it to a number of seconds > 0, or unset it "
            f"for the default {DEFAULT_TIMEOUT:g} s"
        )
    return value


def _make_filesystem(url: str, options: dict[str, Any]) -> tuple[fsspec.AbstractFileSystem, str]:
    try:
        return fsspec.core.url_to_fs(url, skip_instance_cache=True, **options)
    except ImportError as exc:
        raise ConfigError(
            f"snapshot_dir={url!r} needs a package that is not installed ({exc}); for s3:// "
            "install the extra: pip install 'trainflow[s3]'"
        ) from exc
    except TypeError as exc:
        raise ConfigError(
            f"storage_options with keys {sorted(options)} were rejected for {url!r}: {exc}; "
            "pass only options the filesystem accepts"
        ) from exc
    except ValueError as exc:
        raise ConfigError(
            f"snapshot_dir={url!r} is not valid: {exc}; use a local path or a URL with a known "
            "protocol (file://, s3://, memory://, or an installed fsspec backend)"
        ) from exc


def _check_name(name: str) -> None:
    if (
        not isinstance(name, str)
        or not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\x00" in name
    ):
        raise ConfigError(f"name={name!r} is not valid: pass a plain file name without '/'")


def _read_local(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
