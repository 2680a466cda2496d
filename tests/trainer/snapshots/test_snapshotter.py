"""Snapshotter: garage's modes and loading rules, plus commits, integrity and fallback."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import types

import cloudpickle
import numpy as np
import pytest

from trainer.errors import (
    ConfigError,
    NotAFileError,
    SnapshotCorruptError,
    SnapshotIncompatibleError,
    SnapshotStorageError,
)
from trainer.snapshots import Snapshotter, Storage

from .conftest import Location

PAYLOAD_1 = {"testparam": 1}
PAYLOAD_2 = {"testparam": 2}

# garage tests/garage/experiment/test_snapshotter.py: files after saving itr 1 then 2.
GARAGE_LAYOUT = {
    ("all", 1): {"itr_1.pkl": PAYLOAD_1, "itr_2.pkl": PAYLOAD_2},
    ("last", 1): {"params.pkl": PAYLOAD_2},
    ("gap", 1): {"itr_1.pkl": PAYLOAD_1, "itr_2.pkl": PAYLOAD_2},
    ("gap_and_last", 1): {"itr_1.pkl": PAYLOAD_1, "itr_2.pkl": PAYLOAD_2, "params.pkl": PAYLOAD_2},
    ("gap_overwrite", 2): {"params.pkl": PAYLOAD_2},
    ("none", 1): {},
}


def snapshotter(location: Location, mode: str = "all", gap: int = 1) -> Snapshotter:
    return Snapshotter(location.url, mode, gap, storage_options=location.options)


def payloads(location: Location) -> dict[str, object]:
    storage = location.storage()
    return {
        name: cloudpickle.loads(storage.get(name))
        for name in location.names()
        if name.endswith(".pkl")
    }


@pytest.mark.parametrize(("mode", "gap"), list(GARAGE_LAYOUT))
def test_each_mode_writes_garages_files(location: Location, mode: str, gap: int) -> None:
    snap = snapshotter(location, mode, gap)
    snap.save_itr_params(1, PAYLOAD_1)
    snap.save_itr_params(2, PAYLOAD_2)

    assert payloads(location) == GARAGE_LAYOUT[(mode, gap)]
    expected_records = {f"{name}.commit.json" for name in GARAGE_LAYOUT[(mode, gap)]}
    assert {n for n in location.names() if n.endswith(".commit.json")} == expected_records


def test_properties_echo_the_constructor(tmp_path) -> None:
    snap = Snapshotter(str(tmp_path / "d"), "gap", 3)
    assert (snap.snapshot_dir, snap.snapshot_mode, snap.snapshot_gap) == (
        str(tmp_path / "d"),
        "gap",
        3,
    )
    assert snap.storage.is_local and os.path.isdir(tmp_path / "d")


def test_default_dir_is_data_local_experiment_under_cwd(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    snap = Snapshotter()
    assert snap.snapshot_dir == os.path.join(str(tmp_path), "data/local/experiment")
    assert os.path.isdir(tmp_path / "data" / "local" / "experiment")


@pytest.mark.parametrize(
    ("mode", "gap", "match"),
    [
        ("invalid", 1, "Invalid snapshot mode 'invalid'"),
        ("last", 2, 'snapshot_gap should be set to 1 if using snapshot_mode="last"'),
        ("gap_overwrite", 1, 'snapshot_gap must be > 1 when using snapshot_mode="gap_overwrite"'),
        ("gap", 0, "snapshot_gap=0 is not valid"),
        ("gap", -3, "snapshot_gap=-3 is not valid"),
        ("gap", 1.5, "snapshot_gap=1.5 is not valid"),
        ("gap", True, "snapshot_gap=True is not valid"),
        ("gap", "2", "snapshot_gap='2' is not valid"),
    ],
)
def test_bad_arguments_raise_at_construction_and_write_nothing(tmp_path, mode, gap, match) -> None:
    target = tmp_path / "never"
    with pytest.raises(ValueError, match=match) as info:
        Snapshotter(str(target), mode, gap)
    assert isinstance(info.value, ConfigError)
    assert not target.exists()


def test_sorts_epochs_numerically(location: Location) -> None:
    snap = snapshotter(location, "all")
    snap.save_itr_params(80, {"epoch": 80})
    snap.save_itr_params(120, {"epoch": 120})
    assert snap.load(location.url)["epoch"] == 120
    assert snap.load(location.url, "first")["epoch"] == 80


@pytest.mark.parametrize(
    ("mode", "first", "last", "three"),
    [
        ("all", 0, 7, 3),
        ("last", 7, 7, None),
        ("gap", 0, 6, 3),
        ("gap_and_last", 7, 7, 3),
        ("gap_overwrite", 6, 6, None),
    ],
)
def test_garage_load_matrix(location: Location, mode, first, last, three) -> None:
    gap = 1 if mode in ("all", "last") else 3
    snap = snapshotter(location, mode, gap)
    for epoch in range(8):
        snap.save_itr_params(epoch, {"epoch": epoch})

    assert snap.load(location.url, "first")["epoch"] == first
    assert snap.load(location.url, "last")["epoch"] == last
    if three is None:
        with pytest.raises(NotAFileError, match="itr_3.pkl"):
            snap.load(location.url, 3)
    else:
        assert snap.load(location.url, 3)["epoch"] == three
        assert snap.load(location.url, "3")["epoch"] == three
    if mode == "gap":
        with pytest.raises(NotAFileError, match=r"committed itr_N.pkl epochs: \[0, 3, 6\]"):
            snap.load(location.url, 7)


def test_none_mode_leaves_nothing_to_load(location: Location) -> None:
    snap = snapshotter(location, "none")
    snap.save_itr_params(0, PAYLOAD_1)
    with pytest.raises(FileNotFoundError):
        snap.load(location.url)


@pytest.mark.parametrize("itr", ["foo", "", "-1", "1.5"])
def test_invalid_itr_string_keeps_garages_message(tmp_path, itr) -> None:
    snap = Snapshotter(str(tmp_path), "all")
    with pytest.raises(ValueError, match="itr should be an integer or 'last' or 'first'"):
        snap.load(str(tmp_path), itr)


@pytest.mark.parametrize("itr", [-1, 2.5, True, None, [1]])
def test_bad_itr_is_rejected_before_any_io(tmp_path, monkeypatch, itr) -> None:
    snap = Snapshotter(str(tmp_path), "all")

    def no_io(*args, **kwargs):
        raise AssertionError("storage was touched for a bad itr")

    monkeypatch.setattr(Storage, "listdir", no_io)
    monkeypatch.setattr(Storage, "get", no_io)
    with pytest.raises(ConfigError, match=re.escape(f"itr={itr!r} is not valid")):
        snap.load(str(tmp_path / "whatever"), itr)


@pytest.mark.parametrize("itr", [-1, 1.0, "3", None])
def test_save_rejects_bad_epochs_and_writes_nothing(tmp_path, itr) -> None:
    snap = Snapshotter(str(tmp_path / "d"), "all")
    with pytest.raises(ConfigError, match="itr="):
        snap.save_itr_params(itr, PAYLOAD_1)
    assert os.listdir(tmp_path / "d") == []


def test_missing_and_empty_dirs_raise_file_not_found(tmp_path) -> None:
    snap = Snapshotter(str(tmp_path / "mine"), "all")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        snap.load(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="No committed snapshot"):
        snap.load(str(tmp_path / "empty"), "first")
    assert not (tmp_path / "missing").exists()


def test_missing_epoch_is_not_a_file_error(location: Location) -> None:
    snap = snapshotter(location, "all")
    snap.save_itr_params(0, PAYLOAD_1)
    with pytest.raises(NotAFileError) as info:
        snap.load(location.url, 5)
    assert isinstance(info.value, FileNotFoundError)
    assert "File not existing" in str(info.value) and "itr_5.pkl" in str(info.value)


def test_load_from_another_dir_than_its_own(tmp_path) -> None:
    Snapshotter(str(tmp_path / "a"), "all").save_itr_params(4, PAYLOAD_2)
    reader = Snapshotter(str(tmp_path / "b"), "last")
    assert reader.load(str(tmp_path / "a"), 4) == PAYLOAD_2
    assert reader.list_epochs(str(tmp_path / "a")) == [4]
    assert reader.list_epochs() == []


def test_list_and_latest_epochs(location: Location) -> None:
    snap = snapshotter(location, "gap_and_last", 2)
    assert snap.list_epochs() == [] and snap.latest_epoch() is None
    for epoch in range(6):
        snap.save_itr_params(epoch, {"epoch": epoch})
    assert snap.list_epochs() == [0, 2, 4, 5]
    assert snap.latest_epoch() == 5
    assert snapshotter(location, "last").latest_epoch() == 5


def test_list_epochs_of_missing_remote_dir_is_empty(location: Location) -> None:
    snap = snapshotter(location, "all")
    assert snap.list_epochs(location.url.rstrip("/") + "-missing") == []


def test_a_second_writers_epochs_are_seen_at_once(location: Location) -> None:
    reader = snapshotter(location, "all")
    writer = snapshotter(location, "all")
    writer.save_itr_params(1, PAYLOAD_1)
    assert reader.latest_epoch() == 1
    writer.save_itr_params(5, PAYLOAD_2)  # the reader's filesystem has listed the dir before
    assert reader.latest_epoch() == 5
    assert reader.load(location.url) == PAYLOAD_2


def test_write_file_is_atomic_and_refuses_snapshot_names(location: Location) -> None:
    snap = snapshotter(location, "all")
    snap.write_file("experiment.json", b'{"a": 1}')
    snap.write_file("experiment.json", b'{"a": 2}')
    assert json.loads(location.storage().get("experiment.json")) == {"a": 2}
    for bad in ("itr_1.pkl", "params.pkl.commit.json", "../x", "a/b", ""):
        with pytest.raises(ConfigError, match="name="):
            snap.write_file(bad, b"x")
    assert location.names() == {"experiment.json"}


def test_stale_temp_files_are_swept_fresh_ones_kept(tmp_path) -> None:
    snap = Snapshotter(str(tmp_path), "all")
    old = tmp_path / (".itr_3.pkl.tmp-" + "a" * 32)
    fresh = tmp_path / (".itr_4.pkl.tmp-" + "b" * 32)
    other = tmp_path / "notes.tmp-keep"
    for path in (old, fresh, other):
        path.write_bytes(b"partial")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    snap.save_itr_params(5, PAYLOAD_1)
    assert not old.exists() and fresh.exists() and other.exists()


def test_pickling_failure_names_the_epoch_and_writes_nothing(tmp_path) -> None:
    snap = Snapshotter(str(tmp_path), "all")
    with pytest.raises(Exception, match="lock") as info:
        snap.save_itr_params(3, {"unpicklable": __import__("threading").Lock()})
    assert any("epoch 3" in note for note in getattr(info.value, "__notes__", []))
    assert os.listdir(tmp_path) == []


# ---- commits: a crash before the record is written (Orbax-style: the record writer raises) ----


class Crash(Exception):
    pass


def crash_on(monkeypatch, predicate) -> list[str]:
    """Make Storage.put_atomic raise Crash for the first call whose name matches ``predicate``."""
    real = Storage.put_atomic
    calls: list[str] = []

    def put_atomic(self, name, data):
        calls.append(name)
        if predicate(name, calls) and not getattr(put_atomic, "fired", False):
            put_atomic.fired = True
            raise Crash(name)
        return real(self, name, data)

    monkeypatch.setattr(Storage, "put_atomic", put_atomic)
    return calls


def test_payload_without_record_is_invisible(location: Location, monkeypatch) -> None:
    snap = snapshotter(location, "all")
    snap.save_itr_params(2, PAYLOAD_1)
    crash_on(monkeypatch, lambda name, calls: name == "itr_3.pkl.commit.json")
    with pytest.raises(Crash):
        snap.save_itr_params(3, PAYLOAD_2)
    monkeypatch.undo()

    assert "itr_3.pkl" in location.names()  # the payload landed ...
    assert snap.list_epochs() == [2]  # ... but was never committed
    assert snap.load(location.url) == PAYLOAD_1
    with pytest.raises(NotAFileError):
        snap.load(location.url, 3)
    snap.save_itr_params(3, PAYLOAD_2)  # the resumed run saves epoch 3 again
    assert snap.load(location.url) == PAYLOAD_2


@pytest.mark.parametrize(
    ("crash_at", "expected"),
    [
        (1, PAYLOAD_1),  # the pending record write fails: the old params.pkl is committed
        (2, PAYLOAD_1),  # the payload write fails: the old payload still matches 'committed'
        (3, PAYLOAD_2),  # the final record write fails: the new payload matches 'pending'
    ],
)
def test_params_pkl_survives_a_crash_at_each_step(location, monkeypatch, crash_at, expected):
    snap = snapshotter(location, "last")
    snap.save_itr_params(1, PAYLOAD_1)
    calls = crash_on(monkeypatch, lambda name, calls: len(calls) == crash_at)
    with pytest.raises(Crash):
        snap.save_itr_params(2, PAYLOAD_2)
    monkeypatch.undo()

    assert calls == ["params.pkl.commit.json", "params.pkl", "params.pkl.commit.json"][:crash_at]
    assert snapshotter(location, "last").load(location.url) == expected
    assert snap.latest_epoch() == expected["testparam"]
    snap.save_itr_params(3, {"testparam": 3})  # and the next save works from that state
    assert snap.load(location.url) == {"testparam": 3}


def test_resaving_a_committed_epoch_is_two_phase(location: Location, monkeypatch) -> None:
    snap = snapshotter(location, "all")
    snap.save_itr_params(4, PAYLOAD_1)
    crash_on(monkeypatch, lambda name, calls: name == "itr_4.pkl")
    with pytest.raises(Crash):
        snap.save_itr_params(4, PAYLOAD_2)
    monkeypatch.undo()
    assert snap.load(location.url, 4) == PAYLOAD_1


def test_storage_failure_keeps_previous_snapshot(tmp_path, monkeypatch) -> None:
    snap = Snapshotter(str(tmp_path), "last")
    snap.save_itr_params(1, PAYLOAD_1)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(SnapshotStorageError, match="no space left") as info:
        snap.save_itr_params(2, PAYLOAD_2)
    monkeypatch.undo()
    assert info.value.reason == "no-space" and str(tmp_path) in str(info.value)
    assert snap.load(str(tmp_path)) == PAYLOAD_1
    assert not [n for n in os.listdir(tmp_path) if ".tmp-" in n]


# ---- integrity: damaged payloads and records ----


def damage(location: Location, name: str, how: str) -> None:
    storage = location.storage()
    data = bytearray(storage.get(name))
    if how == "flip-first":
        data[0] ^= 0xFF
    elif how == "flip-middle":
        data[len(data) // 2] ^= 0x01
    elif how == "flip-last":
        data[-1] ^= 0xFF
    elif how == "truncate-half":
        data = data[: len(data) // 2]
    elif how == "truncate-zero":
        data = bytearray()
    elif how == "delete":
        storage.delete(name)
        return
    elif how == "garbage":
        data = bytearray(b"{not json")
    storage.put_atomic(name, bytes(data))


@pytest.mark.parametrize(
    "how", ["flip-first", "flip-middle", "flip-last", "truncate-half", "truncate-zero", "delete"]
)
def test_damaged_payload_is_detected_and_last_falls_back(location, how, caplog) -> None:
    snap = snapshotter(location, "all")
    arrays = {e: np.full(4096, e, dtype=np.float64) for e in range(3)}
    for epoch, array in arrays.items():
        snap.save_itr_params(epoch, {"epoch": epoch, "w": array})
    damage(location, "itr_2.pkl", how)

    with pytest.raises(SnapshotCorruptError, match="itr_2.pkl"):
        snap.load(location.url, 2)
    with caplog.at_level(logging.WARNING, logger="trainer.snapshots"):
        restored = snap.load(location.url, "last")
    assert restored["epoch"] == 1 and np.array_equal(restored["w"], arrays[1])
    assert any("itr_2.pkl" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


def test_flipped_array_byte_would_load_silently_without_the_hash(tmp_path) -> None:
    snap = Snapshotter(str(tmp_path), "all")
    snap.save_itr_params(0, {"w": np.zeros(4096)})
    path = tmp_path / "itr_0.pkl"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert cloudpickle.loads(bytes(data))["w"].any()  # plain unpickling sees nothing wrong
    with pytest.raises(SnapshotCorruptError, match="itr_0.pkl is damaged"):
        snap.load(str(tmp_path), 0)


@pytest.mark.parametrize("how", ["garbage", "truncate-half", "delete"])
def test_damaged_record_is_skipped_by_last(location: Location, how: str) -> None:
    snap = snapshotter(location, "all")
    snap.save_itr_params(0, PAYLOAD_1)
    snap.save_itr_params(1, PAYLOAD_2)
    damage(location, "itr_1.pkl.commit.json", how)
    assert snap.load(location.url) == PAYLOAD_1
    if how != "delete":
        with pytest.raises(SnapshotCorruptError, match="itr_1.pkl.commit.json"):
            snap.load(location.url, 1)


def test_damaged_params_pkl_falls_back_to_newest_itr_file(location: Location) -> None:
    snap = snapshotter(location, "gap_and_last", 2)
    for epoch in range(4):
        snap.save_itr_params(epoch, {"epoch": epoch})
    damage(location, "params.pkl", "flip-middle")
    assert snap.load(location.url, "last") == {"epoch": 2}


def test_no_intact_snapshot_lists_every_failure(location: Location) -> None:
    snap = snapshotter(location, "all")
    snap.save_itr_params(0, PAYLOAD_1)
    snap.save_itr_params(1, PAYLOAD_2)
    damage(location, "itr_0.pkl", "flip-first")
    damage(location, "itr_1.pkl", "truncate-zero")
    with pytest.raises(SnapshotCorruptError, match="no intact snapshot") as info:
        snap.load(location.url)
    assert "itr_0.pkl" in str(info.value) and "itr_1.pkl" in str(info.value)


def test_payloads_without_records_are_never_loaded(tmp_path) -> None:
    (tmp_path / "itr_9.pkl").write_bytes(cloudpickle.dumps({"garage": True}))
    snap = Snapshotter(str(tmp_path), "all")
    with pytest.raises(FileNotFoundError, match="itr_9.pkl without commit records"):
        snap.load(str(tmp_path))
    snap.save_itr_params(1, PAYLOAD_1)
    assert snap.load(str(tmp_path)) == PAYLOAD_1
    assert snap.list_epochs() == [1]


def test_record_of_a_newer_format_is_refused(tmp_path) -> None:
    snap = Snapshotter(str(tmp_path), "all")
    snap.save_itr_params(0, PAYLOAD_1)
    record_path = tmp_path / "itr_0.pkl.commit.json"
    record = json.loads(record_path.read_bytes())
    record["format"] = 99
    record_path.write_text(json.dumps(record))
    with pytest.raises(SnapshotIncompatibleError, match="format 99"):
        snap.load(str(tmp_path), 0)


def test_unpickling_failure_is_incompatible_with_versions(tmp_path, monkeypatch) -> None:
    module = types.ModuleType("tf_vanishing_module")
    exec("class Policy:\n    pass\n", module.__dict__)
    monkeypatch.setitem(sys.modules, "tf_vanishing_module", module)
    snap = Snapshotter(str(tmp_path), "all")
    snap.save_itr_params(0, {"policy": module.Policy()})
    monkeypatch.delitem(sys.modules, "tf_vanishing_module")  # the code went away after an upgrade

    with pytest.raises(SnapshotIncompatibleError) as info:
        snap.load(str(tmp_path), 0)
    message = str(info.value)
    assert "tf_vanishing_module" in message and "numpy" in message and "python" in message
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_readers_concurrent_with_a_writer_always_get_a_committed_snapshot(tmp_path) -> None:
    import threading

    writer = Snapshotter(str(tmp_path), "last")
    writer.save_itr_params(0, {"epoch": 0, "w": np.zeros(20_000)})
    done, seen, errors = threading.Event(), [], []

    def write() -> None:
        for epoch in range(1, 60):
            writer.save_itr_params(epoch, {"epoch": epoch, "w": np.full(20_000, epoch)})
        done.set()

    def read() -> None:
        reader = Snapshotter(str(tmp_path), "last")
        while not done.is_set():
            try:
                state = reader.load(str(tmp_path))
            except Exception as exc:  # any failure is a test failure, reported below
                errors.append(exc)
                return
            assert np.all(state["w"] == state["epoch"])
            seen.append(state["epoch"])

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(seen) > 5 and seen == sorted(seen)
