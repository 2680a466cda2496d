"""HMAC-SHA256 signatures on commit records, so a restore never unpickles someone else's code.

Unpickling runs code chosen by whoever wrote the file. With ``TRAINFLOW_SNAPSHOT_KEY`` set, every
commit record is signed on save; on load the signature is checked *before* the payload is read.
The record holds the payload's sha256, file name and epoch, so the payload is authenticated
through it and a signed snapshot cannot be renamed to another epoch.

Key formats (the variable's value): ``hex:<hex digits>``, ``base64:<base64>``, ``raw:<text>``,
or without a prefix: 64 or more hex digits are read as hex, anything else as UTF-8 text. The
decoded key must be at least 32 bytes. ``TRAINFLOW_REQUIRE_SIGNED=1`` makes a missing key an
error on save and on restore instead of a warning.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
from typing import Any

from trainer.errors import ConfigError, SnapshotUntrustedError
from trainer.snapshots import records

KEY_ENV = "TRAINFLOW_SNAPSHOT_KEY"
REQUIRE_ENV = "TRAINFLOW_REQUIRE_SIGNED"
MIN_KEY_BYTES = 32
ALGORITHM = "HMAC-SHA256"
_HEX_KEY = re.compile(r"(?:[0-9a-fA-F]{2}){32,}")
_KEYGEN_HINT = "generate one with: python -c 'import secrets; print(secrets.token_hex(32))'"
_logger = logging.getLogger(__name__)
_warned_unauthenticated: set[str] = set()


def load_key() -> bytes | None:
    """Read the signing key from ``TRAINFLOW_SNAPSHOT_KEY``.

    Returns:
        The key bytes, or ``None`` if the variable is unset or empty.

    Raises:
        ConfigError: If the value cannot be decoded or is shorter than 32 bytes, or if
            ``TRAINFLOW_REQUIRE_SIGNED=1`` and no key is set. The key itself is never printed.
    """
    raw = os.environ.get(KEY_ENV, "")
    if not raw:
        if require_signed():
            raise ConfigError(
                f"{REQUIRE_ENV}=1 but {KEY_ENV} is not set: set {KEY_ENV} to a key of at least "
                f"{MIN_KEY_BYTES} bytes ({_KEYGEN_HINT}), or unset {REQUIRE_ENV}"
            )
        return None
    key = _decode_key(raw)
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"{KEY_ENV} is {len(key)} bytes long after decoding; it must be at least "
            f"{MIN_KEY_BYTES} bytes: {_KEYGEN_HINT}"
        )
    return key


def require_signed() -> bool:
    """Whether ``TRAINFLOW_REQUIRE_SIGNED`` is set to a true value (``1``, ``true``, ``yes``)."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def key_id(key: bytes) -> str:
    """A public fingerprint of a key (first 8 hex digits of its sha256), stored in records."""
    return hashlib.sha256(key).hexdigest()[:8]


def sign(record: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    """Return ``record`` with an ``hmac`` field over its canonical form (unchanged if no key)."""
    unsigned = {k: v for k, v in record.items() if k != "hmac"}
    if key is None:
        return unsigned
    mac = hmac.new(key, records.canonical(unsigned), hashlib.sha256).hexdigest()
    return {**unsigned, "hmac": {"alg": ALGORITHM, "key_id": key_id(key), "mac": mac}}


def verify(record: dict[str, Any], key: bytes | None, url: str, *, remote: bool) -> None:
    """Check a record's signature before its payload is read.

    Args:
        record: The decoded commit record.
        key: The configured key, or ``None``.
        url: The record's URL, for messages.
        remote: Whether the snapshot comes from a non-local location; without a key this logs,
            once per location, that anyone able to write there can run code in this process.

    Raises:
        SnapshotUntrustedError: If a key is configured and the record is unsigned, signed with
            another key, or its MAC does not verify.
    """
    if key is None:
        if remote:
            _warn_unauthenticated(url)
        return
    sig = record.get("hmac")
    if not isinstance(sig, dict) or not sig.get("mac"):
        raise SnapshotUntrustedError(
            f"{url} is unsigned but {KEY_ENV} is set: refusing to unpickle it (unpickling runs "
            f"code). If you trust its origin, load it in a process without {KEY_ENV} and save "
            "it again to sign it"
        )
    if sig.get("alg") != ALGORITHM:
        raise SnapshotUntrustedError(
            f"{url} is signed with {sig.get('alg')!r}, expected {ALGORITHM}: refusing to unpickle"
        )
    if sig.get("key_id") != key_id(key):
        raise SnapshotUntrustedError(
            f"{url} was signed with another key (key_id {sig.get('key_id')!r}, yours is "
            f"{key_id(key)!r}): refusing to unpickle it; set {KEY_ENV} to the key it was "
            "saved with"
        )
    expected = hmac.new(key, records.canonical(record), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(sig["mac"])):
        raise SnapshotUntrustedError(
            f"{url}: HMAC mismatch, the commit record was modified after it was signed: "
            "refusing to unpickle the snapshot; restore another epoch you trust"
        )


def _decode_key(raw: str) -> bytes:
    prefix, _, rest = raw.partition(":")
    try:
        if prefix == "hex" and rest:
            return bytes.fromhex(rest)
        if prefix == "base64" and rest:
            return base64.b64decode(rest, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise ConfigError(
            f"{KEY_ENV} starts with '{prefix}:' but the rest is not valid {prefix} ({exc}): "
            f"fix the value or use 'raw:<text>'"
        ) from None
    if prefix == "raw" and rest:
        return rest.encode()
    if _HEX_KEY.fullmatch(raw):
        return bytes.fromhex(raw)
    return raw.encode()


def _warn_unauthenticated(url: str) -> None:
    location = url.rsplit("/", 1)[0]
    if location in _warned_unauthenticated:
        return
    _warned_unauthenticated.add(location)
    _logger.warning(
        "snapshot is not authenticated: anyone with write access to %s can execute code in this "
        "process; set %s to sign and verify snapshots",
        location,
        KEY_ENV,
    )
