"""Commit records: the small JSON file that makes a snapshot payload exist for readers.

Every payload ``<name>`` (``itr_7.pkl``, ``params.pkl``) has a record ``<name>.commit.json``::

    {"format": 1, "kind": "trainflow-snapshot", "file": "itr_7.pkl", "run_id": "...",
     "experiment": {"algo": "trainer.algos.ppo.PPO", "env": "trainer.envs.gym_env.GymEnv"},
     "committed": {"epoch": 7, "sha256": "...", "size": 123, "created": "...",
                   "versions": {"python": "3.11.7", "numpy": "2.4.6", ...}},
     "pending": null,
     "hmac": {"alg": "HMAC-SHA256", "key_id": "a1b2c3d4", "mac": "..."}}

``pending`` is set only while a payload that already has a committed version is being
replaced (two-phase commit): the payload on storage then matches either entry.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

from trainer.errors import SnapshotCorruptError, SnapshotIncompatibleError

FORMAT = 1
KIND = "trainflow-snapshot"
SUFFIX = ".commit.json"
PARAMS_FILE = "params.pkl"
MAX_RECORD_BYTES = 1 << 20
_ITR_FILE = re.compile(r"itr_(\d+)\.pkl")
_VERSIONED = ("trainflow", "tensorflow-cpu", "tensorflow", "numpy", "cloudpickle", "gymnasium")


def record_name(payload: str) -> str:
    """Return the commit record's name for a payload name (``itr_3.pkl.commit.json``)."""
    return payload + SUFFIX


def payload_of(name: str) -> str | None:
    """Return the payload a record name belongs to, or ``None`` if ``name`` is no snapshot record.

    Only garage's payload names count: ``params.pkl`` and ``itr_<N>.pkl``.
    """
    if not name.endswith(SUFFIX):
        return None
    payload = name[: -len(SUFFIX)]
    return payload if payload == PARAMS_FILE or itr_epoch(payload) is not None else None


def itr_epoch(payload: str) -> int | None:
    """Return ``N`` for ``itr_N.pkl``, else ``None``."""
    match = _ITR_FILE.fullmatch(payload)
    return int(match.group(1)) if match else None


def itr_file(epoch: int) -> str:
    """Return garage's payload name for an epoch (``itr_7.pkl``)."""
    return f"itr_{epoch}.pkl"


def make_entry(epoch: int, data: bytes) -> dict[str, Any]:
    """Describe one payload version: its epoch, sha256, size, time and library versions."""
    return {
        "epoch": epoch,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "versions": dict(library_versions()),
    }


def make_record(
    file: str,
    committed: dict[str, Any] | None,
    pending: dict[str, Any] | None,
    run_id: str,
    experiment: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Build an (unsigned) commit record for ``file``."""
    return {
        "format": FORMAT,
        "kind": KIND,
        "file": file,
        "run_id": run_id,
        "experiment": experiment or {},
        "committed": committed,
        "pending": pending,
    }


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no spaces, without the ``hmac`` field."""
    body = {k: v for k, v in record.items() if k != "hmac"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def encode(record: dict[str, Any]) -> bytes:
    """Serialise a record (signature included) for storage."""
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def decode(url: str, raw: bytes) -> dict[str, Any]:
    """Parse and validate a stored record.

    Args:
        url: The record's URL, for messages.
        raw: The stored bytes.

    Returns:
        The record.

    Raises:
        SnapshotCorruptError: If the record is too large, is not JSON, or lacks required fields.
        SnapshotIncompatibleError: If it was written in a newer, unknown format.
    """
    if len(raw) > MAX_RECORD_BYTES:
        raise SnapshotCorruptError(
            f"commit record {url} is {len(raw)} bytes (limit {MAX_RECORD_BYTES}): it is not a "
            "trainflow record; remove it or restore another epoch"
        )
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SnapshotCorruptError(
            f"commit record {url} is not valid JSON ({exc}): the snapshot is damaged; restore "
            "another epoch"
        ) from exc
    if not isinstance(record, dict) or record.get("kind") != KIND:
        raise SnapshotCorruptError(f"{url} is not a trainflow commit record; restore another epoch")
    fmt = record.get("format")
    if not isinstance(fmt, int) or fmt < 1:
        raise SnapshotCorruptError(f"commit record {url} has an invalid format field {fmt!r}")
    if fmt > FORMAT:
        raise SnapshotIncompatibleError(
            f"commit record {url} has format {fmt}, but this trainflow reads format <= {FORMAT}; "
            f"upgrade trainflow (the snapshot was written with {record.get('committed')})"
        )
    for key in ("committed", "pending"):
        if record.get(key) is not None and not _valid_entry(record[key]):
            raise SnapshotCorruptError(f"commit record {url} has an invalid {key!r} entry")
    if record.get("committed") is None and record.get("pending") is None:
        raise SnapshotCorruptError(f"commit record {url} commits nothing")
    return record


def matching_entry(record: dict[str, Any], data: bytes) -> dict[str, Any] | None:
    """Return the record's entry (committed, else pending) that ``data`` matches, or ``None``.

    Size is compared first so that a truncated payload is not hashed needlessly.
    """
    digest: str | None = None
    for key in ("committed", "pending"):
        entry = record.get(key)
        if entry is None or entry["size"] != len(data):
            continue
        digest = digest or hashlib.sha256(data).hexdigest()
        if entry["sha256"] == digest:
            return entry
    return None


def epoch_of(record: dict[str, Any]) -> int:
    """The epoch a reader gets if the payload matches the committed entry (else pending)."""
    entry = record.get("committed") or record["pending"]
    return int(entry["epoch"])


@cache
def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries whose changes can break unpickling."""
    versions = {"python": platform.python_version()}
    for dist in _VERSIONED:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def _valid_entry(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("epoch"), int)
        and not isinstance(entry.get("epoch"), bool)
        and entry["epoch"] >= 0
        and isinstance(entry.get("sha256"), str)
        and isinstance(entry.get("size"), int)
    )
