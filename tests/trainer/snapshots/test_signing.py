"""Signing: with TRAINFLOW_SNAPSHOT_KEY, only snapshots signed with that key are ever unpickled."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import pathlib
import shutil

import pytest

from trainer.errors import (
    ConfigError,
    SnapshotCorruptError,
    SnapshotUntrustedError,
)
from trainer.snapshots import KEY_ENV, REQUIRE_ENV, Snapshotter, Storage, load_key
from trainer.snapshots.signing import key_id

from .conftest import Location

KEY_A = "a" * 64  # hex form: 32 bytes
KEY_B = "hex:" + "b" * 64


class Marker:
    """Unpickling this touches a file: stands in for an attacker's payload."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def saved(location: Location, key: str | None, monkeypatch, epochs=(0, 1)) -> Snapshotter:
    if key is None:
        monkeypatch.delenv(KEY_ENV, raising=False)
    else:
        monkeypatch.setenv(KEY_ENV, key)
    snap = Snapshotter(location.url, "all", storage_options=location.options)
    for epoch in epochs:
        snap.save_itr_params(epoch, {"epoch": epoch})
    return snap


def read_record(location: Location, name: str) -> dict:
    return json.loads(location.storage().get(f"{name}.commit.json"))


def write_record(location: Location, name: str, record: dict) -> None:
    location.storage().put_atomic(f"{name}.commit.json", json.dumps(record).encode())


def spy_reads(monkeypatch) -> list[str]:
    reads: list[str] = []
    real_get = Storage.get

    def get(self, name):
        reads.append(name)
        return real_get(self, name)

    monkeypatch.setattr(Storage, "get", get)
    return reads


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a" * 64, bytes.fromhex("a" * 64)),
        ("hex:" + "0f" * 40, bytes.fromhex("0f" * 40)),
        ("base64:" + base64.b64encode(b"k" * 32).decode(), b"k" * 32),
        ("raw:" + "p" * 32, b"p" * 32),
        ("correct horse battery staple, 32+ bytes", b"correct horse battery staple, 32+ bytes"),
    ],
)
def test_key_formats(monkeypatch, value, expected) -> None:
    monkeypatch.setenv(KEY_ENV, value)
    assert load_key() == expected


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("short-secret", "is 12 bytes long after decoding; it must be at least 32 bytes"),
        ("hex:abcd", "is 2 bytes long"),
        ("hex:zz" + "0" * 64, "not valid hex"),
        ("base64:@@@", "not valid base64"),
    ],
)
def test_bad_keys_are_config_errors_that_never_print_the_key(monkeypatch, value, match) -> None:
    monkeypatch.setenv(KEY_ENV, value)
    with pytest.raises(ConfigError, match=match) as info:
        load_key()
    assert value not in str(info.value)


def test_signed_snapshot_round_trips(location: Location, monkeypatch) -> None:
    snap = saved(location, KEY_A, monkeypatch)
    record = read_record(location, "itr_1.pkl")
    assert record["hmac"]["alg"] == "HMAC-SHA256"
    assert record["hmac"]["key_id"] == key_id(bytes.fromhex(KEY_A))
    assert KEY_A not in json.dumps(record)
    assert snap.load(location.url) == {"epoch": 1}


@pytest.mark.parametrize("field", ["epoch", "sha256", "size"])
def test_modified_record_is_refused_before_the_payload_is_read(location, monkeypatch, field):
    snap = saved(location, KEY_A, monkeypatch)
    record = read_record(location, "itr_1.pkl")
    tampered = {"epoch": 9, "sha256": "0" * 64, "size": record["committed"]["size"] + 1}
    record["committed"][field] = tampered[field]
    write_record(location, "itr_1.pkl", record)
    reads = spy_reads(monkeypatch)

    with pytest.raises(SnapshotUntrustedError, match="HMAC mismatch"):
        snap.load(location.url, 1)
    with pytest.raises(SnapshotUntrustedError):  # 'last' never skips an untrusted snapshot
        snap.load(location.url, "last")
    assert "itr_1.pkl" not in reads


def test_malicious_payload_with_rehashed_record_never_runs(location, monkeypatch, tmp_path):
    import cloudpickle

    snap = saved(location, KEY_A, monkeypatch)
    marker = tmp_path / "pwned"
    evil = cloudpickle.dumps(Marker(str(marker)))
    record = read_record(location, "itr_1.pkl")
    record["committed"].update(sha256=hashlib.sha256(evil).hexdigest(), size=len(evil))
    location.storage().put_atomic("itr_1.pkl", evil)
    write_record(location, "itr_1.pkl", record)  # re-hashed, but the attacker has no key

    with pytest.raises(SnapshotUntrustedError, match="HMAC mismatch"):
        snap.load(location.url, 1)
    assert not marker.exists()

    # The same tampering without a key is loaded and runs: the check above is what stops it.
    monkeypatch.delenv(KEY_ENV)
    del record["hmac"]
    write_record(location, "itr_1.pkl", record)
    snap.load(location.url, 1)
    assert marker.exists()


def test_wrong_key_is_named(location: Location, monkeypatch) -> None:
    snap = saved(location, KEY_A, monkeypatch)
    monkeypatch.setenv(KEY_ENV, KEY_B)
    with pytest.raises(SnapshotUntrustedError, match="signed with another key") as info:
        snap.load(location.url)
    assert key_id(bytes.fromhex(KEY_A)) in str(info.value)
    assert key_id(bytes.fromhex("b" * 64)) in str(info.value)


def test_unsigned_snapshot_is_refused_when_a_key_is_set(location: Location, monkeypatch) -> None:
    snap = saved(location, None, monkeypatch)
    monkeypatch.setenv(KEY_ENV, KEY_A)
    with pytest.raises(SnapshotUntrustedError, match="is unsigned"):
        snap.load(location.url)


def test_require_signed_without_key_fails_before_any_io(tmp_path, monkeypatch) -> None:
    snap = Snapshotter(str(tmp_path / "d"), "all")
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(ConfigError, match="TRAINFLOW_REQUIRE_SIGNED=1 but TRAINFLOW_SNAPSHOT_KEY"):
        snap.save_itr_params(0, {"a": 1})
    assert os.listdir(tmp_path / "d") == []
    with pytest.raises(ConfigError, match="TRAINFLOW_REQUIRE_SIGNED"):
        snap.load(str(tmp_path / "missing"))


def test_require_signed_with_key_refuses_unsigned(tmp_path, monkeypatch) -> None:
    snap = Snapshotter(str(tmp_path), "all")
    snap.save_itr_params(0, {"a": 1})
    monkeypatch.setenv(REQUIRE_ENV, "1")
    monkeypatch.setenv(KEY_ENV, KEY_A)
    with pytest.raises(SnapshotUntrustedError, match="unsigned"):
        snap.load(str(tmp_path))
    snap.save_itr_params(1, {"a": 2})
    assert snap.load(str(tmp_path), 1) == {"a": 2}


def test_without_key_remote_loads_warn_once(monkeypatch, caplog) -> None:
    location = Location("memory", "memory://tf-unauth-warn/run", None)
    snap = saved(location, None, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="trainer.snapshots"):
        snap.load(location.url)
        snap.load(location.url, 0)
    warnings = [r for r in caplog.records if "not authenticated" in r.getMessage()]
    assert len(warnings) == 1 and "memory://tf-unauth-warn/run" in warnings[0].getMessage()


def test_without_key_signed_snapshots_still_load(location: Location, monkeypatch) -> None:
    snap = saved(location, KEY_A, monkeypatch)
    monkeypatch.delenv(KEY_ENV)
    assert snap.load(location.url) == {"epoch": 1}


def test_renamed_snapshot_is_refused(tmp_path, monkeypatch) -> None:
    location = Location("local", str(tmp_path), None)
    snap = saved(location, KEY_A, monkeypatch, epochs=(5, 6, 7))
    for suffix in ("", ".commit.json"):
        shutil.copy(tmp_path / f"itr_5.pkl{suffix}", tmp_path / f"itr_7.pkl{suffix}")
    with pytest.raises(SnapshotUntrustedError, match="commits 'itr_5.pkl', not 'itr_7.pkl'"):
        snap.load(str(tmp_path), 7)
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(SnapshotCorruptError, match="commits 'itr_5.pkl'"):
        snap.load(str(tmp_path), 7)
    assert snap.load(str(tmp_path), "last") == {"epoch": 6}


def test_key_never_reaches_the_snapshot_dir(tmp_path, monkeypatch) -> None:
    location = Location("local", str(tmp_path), None)
    saved(location, KEY_A, monkeypatch)
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        assert KEY_A.encode() not in data and bytes.fromhex(KEY_A) not in data
