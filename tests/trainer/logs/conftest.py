"""Fixtures of the log tests: a remote snapshot_dir on fsspec's in-process memory filesystem."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import fsspec
import pytest

from trainer.snapshots import Storage, open_storage


@pytest.fixture
def memory_url() -> Iterator[str]:
    """A fresh ``memory://`` snapshot_dir, deleted afterwards."""
    root = f"/logs-{uuid.uuid4().hex}"
    yield f"memory://{root}"
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


@pytest.fixture
def remote(memory_url: str) -> Storage:
    """The storage of ``memory_url``, to look at what was uploaded."""
    return open_storage(memory_url)


@pytest.fixture
def uploads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names passed to ``Storage.put_atomic`` during the test, in call order."""
    names: list[str] = []
    put_atomic = Storage.put_atomic

    def spy(self: Storage, name: str, data: bytes) -> None:
        names.append(name)
        put_atomic(self, name, data)

    monkeypatch.setattr(Storage, "put_atomic", spy)
    return names
