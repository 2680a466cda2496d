"""Shared fixtures of the snapshot tests: one snapshot location per storage backend."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from trainer.snapshots import KEY_ENV, REQUIRE_ENV, Storage, open_storage


@dataclass
class Location:
    """A snapshot directory on one backend, plus direct access for tests that damage files."""

    backend: str
    url: str
    options: dict[str, Any] | None
    _storage: Storage | None = None

    def storage(self) -> Storage:
        """A Storage of the test's own (not the code under test's) on the location."""
        if self._storage is None:
            self._storage = open_storage(self.url, self.options)
        return self._storage

    def names(self) -> set[str]:
        """Every name in the location; empty if it does not exist."""
        try:
            return set(self.storage().listdir())
        except FileNotFoundError:
            return set()


def make_location(backend: str, request: pytest.FixtureRequest, tmp_path: Any) -> Location:
    if backend == "local":
        return Location("local", str(tmp_path / "snapshots"), None)
    if backend == "memory":
        return Location("memory", f"memory://tf-{uuid.uuid4().hex}/run", None)
    server = request.getfixturevalue("s3_server")
    bucket = server.create_bucket()
    return Location("s3", f"s3://{bucket}/run", server.storage_options())


@pytest.fixture(params=["local", "memory", pytest.param("s3", marks=pytest.mark.s3)])
def location(request: pytest.FixtureRequest, tmp_path: Any) -> Location:
    """A fresh snapshot location on each backend: local disk, ``memory://`` and S3 (moto)."""
    return make_location(request.param, request, tmp_path)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def shared_location(request: pytest.FixtureRequest, tmp_path: Any) -> Location:
    """A location that other processes can see too (``memory://`` cannot)."""
    return make_location(request.param, request, tmp_path)


@pytest.fixture(autouse=True)
def _no_signing_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start without a signing key, whatever the developer's shell has."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
