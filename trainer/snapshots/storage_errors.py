"""Turn each way a storage call fails into one :class:`SnapshotStorageError` that says what to do.

s3fs maps HTTP errors onto built-in exceptions but lets errors without an HTTP response through
untranslated: botocore's ``EndpointConnectionError`` and ``NoCredentialsError`` are not
``OSError`` subclasses, so a plain ``except OSError`` would miss the two most common failures.
"""

from __future__ import annotations

import errno

from trainer.errors import SnapshotStorageError

# Matched by class name through the MRO so that this module does not import botocore/aiohttp
# (they are optional: only the s3 extra installs them).
_NO_CREDENTIALS = {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}
_UNREACHABLE = {
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "ProxyConnectionError",
    "ClientConnectorError",
    "ServerDisconnectedError",
    "ConnectionError",
}
_TIMEOUT = {"ReadTimeoutError", "TimeoutError", "FSTimeoutError", "ServerTimeoutError"}
_NO_SPACE = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


def is_storage_failure(exc: BaseException) -> bool:
    """Tell whether ``exc`` is a failure of the storage itself rather than a bug in the caller.

    Args:
        exc: Any exception raised by a filesystem call.

    Returns:
        ``True`` for ``OSError`` (which includes timeouts and s3fs's translated HTTP errors),
        botocore errors and aiohttp client errors.
    """
    if isinstance(exc, OSError):
        return True
    names = _class_names(exc)
    return bool(names & {"BotoCoreError", "ClientError", "ClientPayloadError"}) or bool(
        names & (_NO_CREDENTIALS | _UNREACHABLE | _TIMEOUT)
    )


def is_missing_bucket(exc: BaseException) -> bool:
    """Tell whether an s3fs error means that the bucket (not just the key) does not exist.

    Args:
        exc: An exception raised by an s3fs call.

    Returns:
        ``True`` if the message is S3's "The specified bucket does not exist".
    """
    return isinstance(exc, FileNotFoundError) and "bucket does not exist" in str(exc).lower()


def storage_error(
    url: str,
    op: str,
    exc: BaseException,
    *,
    timeout: float | None = None,
    endpoint: str | None = None,
) -> SnapshotStorageError:
    """Build the :class:`SnapshotStorageError` for a failed storage call.

    The message names the operation, the URL, the cause in plain words and what to do about it.
    The original exception should be chained with ``raise ... from exc``.

    Args:
        url: The object or directory URL the call was about, e.g. ``s3://bkt/run/itr_3.pkl``.
        op: What was attempted, as a verb: ``"write"``, ``"read"``, ``"list"``, ``"delete"``.
        exc: The exception the filesystem raised.
        timeout: The deadline in seconds the call ran under, for the "timed out" message.
        endpoint: The endpoint URL, if a custom one is configured (S3-compatible servers).

    Returns:
        The error to raise. Its ``url``, ``op`` and ``reason`` attributes hold the parts of the
        message (``reason`` is one of ``timeout``, ``no-credentials``, ``unreachable``,
        ``access-denied``, ``no-bucket``, ``no-space``, ``other``).
    """
    reason, detail = _classify(url, exc, timeout=timeout, endpoint=endpoint)
    err = SnapshotStorageError(f"cannot {op} {url}: {detail}")
    if isinstance(exc, OSError) and exc.errno is not None:
        err.errno = exc.errno
    err.url, err.op, err.reason = url, op, reason
    return err


def _classify(
    url: str, exc: BaseException, *, timeout: float | None, endpoint: str | None
) -> tuple[str, str]:
    names = _class_names(exc)
    where = endpoint or _endpoint_of(exc) or "the storage endpoint"
    if names & _TIMEOUT or isinstance(exc, TimeoutError):
        after = f" after {timeout:g} s" if timeout else ""
        return "timeout", (
            f"timed out{after} waiting for {where}; check the endpoint and network, or raise the "
            "deadline with TRAINFLOW_STORAGE_TIMEOUT (seconds)"
        )
    if names & _NO_CREDENTIALS:
        return "no-credentials", (
            "no AWS credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
            "AWS_PROFILE, or pass storage_options={'key': ..., 'secret': ...}"
        )
    if names & _UNREACHABLE or isinstance(exc, ConnectionError):
        return "unreachable", (
            f"cannot reach {where} ({exc}); the snapshots already committed there are untouched. "
            "Check the endpoint URL and that the server is up, then retry"
        )
    if is_missing_bucket(exc):
        bucket = url.split("://", 1)[-1].split("/", 1)[0]
        return "no-bucket", (f"bucket {bucket!r} does not exist; create it or fix snapshot_dir")
    if isinstance(exc, PermissionError) or (
        isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
    ):
        return "access-denied", (
            f"access denied ({exc}); check the credentials (AWS_* variables, profile, "
            "storage_options) or the permissions of the directory"
        )
    if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
        return "no-space", f"no space left ({exc}); free space or choose another snapshot_dir"
    return "other", f"{type(exc).__name__}: {exc}"


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _endpoint_of(exc: BaseException) -> str | None:
    # botocore's EndpointConnectionError keeps the URL it tried in ``kwargs``.
    kwargs = getattr(exc, "kwargs", None)
    if isinstance(kwargs, dict) and kwargs.get("endpoint_url"):
        return str(kwargs["endpoint_url"])
    return None
