"""storage_error: each failure class becomes a message that names the URL, the cause and the fix."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from fsspec.exceptions import FSTimeoutError

from trainer.errors import SnapshotError, SnapshotStorageError
from trainer.snapshots import is_storage_failure, storage_error

URL = "s3://bkt/run/itr_3.pkl"


@pytest.mark.parametrize(
    ("exc", "reason", "words"),
    [
        (FSTimeoutError(), "timeout", "timed out after 60 s"),
        (ReadTimeoutError(endpoint_url="http://h:1/"), "timeout", "timed out"),
        (NoCredentialsError(), "no-credentials", "no AWS credentials found"),
        (EndpointConnectionError(endpoint_url="http://h:1/"), "unreachable", "cannot reach"),
        (ConnectTimeoutError(endpoint_url="http://h:1/"), "unreachable", "http://h:1/"),
        (ConnectionResetError(104, "reset"), "unreachable", "cannot reach"),
        (FileNotFoundError("The specified bucket does not exist"), "no-bucket", "bucket 'bkt'"),
        (
            PermissionError("The AWS Access Key Id you provided does not exist"),
            "access-denied",
            "access denied",
        ),
        (OSError(30, "Read-only file system"), "access-denied", "access denied"),
        (OSError(28, "No space left on device"), "no-space", "no space left"),
        (OSError(27, "File too large"), "no-space", "no space left"),
        (OSError(5, "Input/output error"), "other", "Input/output error"),
    ],
)
def test_each_failure_gets_a_reason_and_names_the_url(exc, reason, words) -> None:
    err = storage_error(URL, "write", exc, timeout=60.0)
    assert isinstance(err, SnapshotStorageError) and isinstance(err, SnapshotError)
    assert err.reason == reason and err.url == URL and err.op == "write"
    assert str(err).startswith(f"cannot write {URL}: ")
    assert words in str(err)


def test_errno_is_kept() -> None:
    assert storage_error(URL, "write", OSError(28, "full")).errno == 28


def test_botocore_errors_count_as_storage_failures_but_bugs_do_not() -> None:
    assert is_storage_failure(EndpointConnectionError(endpoint_url="http://h/"))
    assert is_storage_failure(NoCredentialsError())
    assert is_storage_failure(OSError(5, "eio"))
    assert not is_storage_failure(TypeError("bug"))
    assert not is_storage_failure(KeyError("bug"))
