"""Storage: atomic writes, fresh listings, deadlines and clear errors on every backend."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from trainer.errors import ConfigError, SnapshotStorageError
from trainer.snapshots import Snapshotter, Storage, open_storage

from .conftest import Location

pytestmark = pytest.mark.timeout(120)


def test_put_get_exists_list_delete(location: Location) -> None:
    storage = location.storage()
    assert not storage.exists("a.bin")
    storage.put_atomic("a.bin", b"first")
    storage.put_atomic("a.bin", b"second")
    storage.put_atomic("b.bin", b"")
    assert storage.get("a.bin") == b"second" and storage.get("b.bin") == b""
    assert storage.exists("a.bin")
    assert storage.listdir() == ["a.bin", "b.bin"]
    storage.delete("a.bin")
    storage.delete("a.bin")  # deleting twice is fine
    assert storage.listdir() == ["b.bin"]
    with pytest.raises(FileNotFoundError):
        storage.get("a.bin")


def test_listing_a_missing_location_raises_file_not_found(location: Location) -> None:
    with pytest.raises(FileNotFoundError):
        open_storage(location.url + "-missing", location.options).listdir()


def test_listing_is_never_stale(location: Location) -> None:
    reader = open_storage(location.url, location.options)
    writer = open_storage(location.url, location.options)
    writer.put_atomic("itr_1.pkl", b"1")
    assert reader.listdir() == ["itr_1.pkl"]  # fills any listing cache the reader has
    writer.put_atomic("itr_5.pkl", b"5")
    assert reader.listdir() == ["itr_1.pkl", "itr_5.pkl"]
    assert reader.exists("itr_5.pkl") and reader.get("itr_5.pkl") == b"5"
    writer.delete("itr_1.pkl")
    assert reader.listdir() == ["itr_5.pkl"]


def test_local_write_is_tmp_fsync_replace(tmp_path, monkeypatch) -> None:
    storage = open_storage(str(tmp_path))
    storage.put_atomic("params.pkl", b"old")
    seen = []
    real_replace = os.replace

    def spy_replace(src, dst):
        # At the moment of the rename the target still holds the old bytes, the temp file the new.
        seen.append((os.path.basename(src), open(dst, "rb").read(), open(src, "rb").read()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy_replace)
    storage.put_atomic("params.pkl", b"new")
    ((tmp_name, target_before, tmp_bytes),) = seen
    assert tmp_name.startswith(".params.pkl.tmp-") and target_before == b"old"
    assert tmp_bytes == b"new" and (tmp_path / "params.pkl").read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["params.pkl"]


def test_local_write_failure_leaves_old_file_and_no_tmp(tmp_path, monkeypatch) -> None:
    storage = open_storage(str(tmp_path))
    storage.put_atomic("x.bin", b"old")

    def fail(*args):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(SnapshotStorageError, match=r"cannot write .*x\.bin"):
        storage.put_atomic("x.bin", b"new")
    assert os.listdir(tmp_path) == ["x.bin"] and (tmp_path / "x.bin").read_bytes() == b"old"


def test_disk_full_in_a_real_process_is_a_clear_error(tmp_path) -> None:
    # RLIMIT_FSIZE makes the kernel refuse the write (EFBIG), like a full disk, without root.
    script = textwrap.dedent(
        f"""
        import resource, signal
        from trainer.snapshots import Snapshotter
        from trainer.errors import SnapshotStorageError
        snap = Snapshotter({str(tmp_path)!r}, "last")
        snap.save_itr_params(0, {{"w": b"x" * 1000}})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000))
        try:
            snap.save_itr_params(1, {{"w": b"y" * 200_000}})
        except SnapshotStorageError as exc:
            print("ERR", exc.reason, exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=os.getcwd()
    )
    assert "ERR no-space" in out.stdout, out.stderr
    assert str(tmp_path) in out.stdout
    assert Snapshotter(str(tmp_path), "last").load(str(tmp_path)) == {"w": b"x" * 1000}
    assert not [n for n in os.listdir(tmp_path) if ".tmp-" in n]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_dir_is_access_denied(tmp_path) -> None:
    snap = Snapshotter(str(tmp_path), "all")
    snap.save_itr_params(0, {"a": 0})
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(SnapshotStorageError, match="access denied"):
            snap.save_itr_params(1, {"a": 1})
    finally:
        tmp_path.chmod(0o755)
    assert snap.load(str(tmp_path)) == {"a": 0}


def test_snapshot_dir_that_is_a_file_is_refused(tmp_path) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"x")
    with pytest.raises(SnapshotStorageError, match="it is a file"):
        Snapshotter(str(path))
    assert path.read_bytes() == b"x"


@pytest.mark.parametrize(
    ("url", "options", "timeout", "match"),
    [
        ("foo://x/y", None, 60, "Protocol not known"),
        ("s3://", None, 60, "has no bucket"),
        ("", None, 60, "snapshot_dir='' is not valid"),
        (123, None, 60, "snapshot_dir=123 is not valid"),
        ("memory://x", ["endpoint_url"], 60, "storage_options must be a dict"),
        ("memory://x", None, 0, "timeout=0 is not valid"),
        ("memory://x", None, -1.0, "timeout=-1.0 is not valid"),
    ],
)
def test_bad_locations_are_config_errors(url, options, timeout, match) -> None:
    with pytest.raises(ConfigError, match=match):
        Storage(url, options, timeout=timeout)


@pytest.mark.parametrize("name", ["", "a/b", "..", "x\\y"])
def test_names_must_be_plain(tmp_path, name) -> None:
    with pytest.raises(ConfigError, match="name="):
        open_storage(str(tmp_path)).put_atomic(name, b"x")
    assert os.listdir(tmp_path) == []


def test_timeout_comes_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("TRAINFLOW_STORAGE_TIMEOUT", "7.5")
    assert open_storage("memory://t").timeout == 7.5
    monkeypatch.setenv("TRAINFLOW_STORAGE_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="TRAINFLOW_STORAGE_TIMEOUT='soon'"):
        open_storage("memory://t")


# ---- S3 faults (moto on loopback, through a TCP fault proxy) ----


@pytest.mark.s3
def test_missing_bucket_names_bucket_and_url(s3_server) -> None:
    storage = open_storage("s3://no-such-bucket-xyz/run", s3_server.storage_options())
    for call in (
        storage.ensure_location,
        storage.listdir,
        lambda: storage.put_atomic("a", b"1"),
        lambda: storage.get("a"),
    ):
        with pytest.raises(SnapshotStorageError) as info:
            call()
        assert "bucket 'no-such-bucket-xyz' does not exist" in str(info.value)
        assert "s3://no-such-bucket-xyz/run" in str(info.value)
        assert info.value.reason == "no-bucket"


@pytest.mark.s3
def test_missing_bucket_fails_at_snapshotter_construction(s3_server) -> None:
    with pytest.raises(SnapshotStorageError, match="bucket 'no-such-bucket-abc' does not exist"):
        Snapshotter("s3://no-such-bucket-abc/run", storage_options=s3_server.storage_options())
    assert "no-such-bucket-abc" not in {
        b["Name"] for b in s3_server.client().list_buckets()["Buckets"]
    }


@pytest.mark.s3
def test_wrong_credentials_are_access_denied(s3_server, s3_bucket) -> None:
    options = {**s3_server.storage_options(shared_session=False), "key": "AKIAWRONG"}
    options["secret"] = "wrong"
    storage = open_storage(f"s3://{s3_bucket}/run", options)
    with s3_server.authentication():
        start = time.monotonic()
        with pytest.raises(SnapshotStorageError, match="access denied") as info:
            storage.put_atomic("itr_0.pkl", b"x")
    assert f"s3://{s3_bucket}/run/itr_0.pkl" in str(info.value)
    assert time.monotonic() - start < 10  # a 403 is not retried
    assert s3_server.client().list_objects_v2(Bucket=s3_bucket).get("KeyCount", 0) == 0


@pytest.mark.s3
def test_no_credentials_is_named(s3_server, s3_bucket, monkeypatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    options = s3_server.storage_options(fast_fail=True, shared_session=False)
    storage = open_storage(f"s3://{s3_bucket}/run", options)
    with pytest.raises(SnapshotStorageError, match="no AWS credentials found") as info:
        storage.put_atomic("itr_0.pkl", b"x")
    assert info.value.reason == "no-credentials"
    assert f"s3://{s3_bucket}/run" in str(info.value)


@pytest.mark.s3
def test_endpoint_down_during_save_then_back(s3_server, s3_bucket, s3_proxy) -> None:
    url = f"s3://{s3_bucket}/run"
    options = s3_server.storage_options(endpoint=s3_proxy.endpoint, fast_fail=True)
    snap = Snapshotter(url, "last", storage_options=options)
    snap.save_itr_params(0, {"epoch": 0})

    s3_proxy.set_mode("refuse")
    start = time.monotonic()
    with pytest.raises(SnapshotStorageError, match="cannot reach") as info:
        snap.save_itr_params(1, {"epoch": 1})
    assert time.monotonic() - start < 20
    assert url in str(info.value) and info.value.reason == "unreachable"
    direct = Snapshotter(url, "last", storage_options=s3_server.storage_options())
    assert direct.load(url) == {"epoch": 0}

    s3_proxy.set_mode("pass")
    snap.save_itr_params(1, {"epoch": 1})  # retrying the same epoch works
    assert direct.load(url) == {"epoch": 1}


@pytest.mark.s3
def test_connection_reset_mid_upload_leaves_no_object(s3_server, s3_bucket, s3_proxy) -> None:
    url = f"s3://{s3_bucket}/run"
    options = s3_server.storage_options(endpoint=s3_proxy.endpoint, fast_fail=True)
    storage = open_storage(url, options)
    s3_proxy.set_mode("reset_after", reset_after=2000)
    with pytest.raises(SnapshotStorageError, match=r"itr_3\.pkl"):
        storage.put_atomic("itr_3.pkl", os.urandom(200_000))
    listed = s3_server.client().list_objects_v2(Bucket=s3_bucket)
    assert listed.get("KeyCount", 0) == 0


@pytest.mark.s3
def test_stalled_endpoint_times_out(s3_server, s3_bucket, s3_proxy) -> None:
    options = s3_server.storage_options(endpoint=s3_proxy.endpoint)
    options["config_kwargs"] = {"read_timeout": 300, "connect_timeout": 300}  # only our deadline
    storage = Storage(f"s3://{s3_bucket}/run", options, timeout=2.0)
    s3_proxy.set_mode("stall")
    start = time.monotonic()
    with pytest.raises(SnapshotStorageError, match="timed out after 2 s") as info:
        storage.put_atomic("itr_0.pkl", b"x" * 1000)
    assert time.monotonic() - start < 10
    assert info.value.reason == "timeout"
    with pytest.raises(SnapshotStorageError, match="timed out"):
        storage.listdir()


@pytest.mark.s3
def test_conditional_writes(s3_server, s3_bucket) -> None:
    storage = open_storage(f"s3://{s3_bucket}/run", s3_server.storage_options())
    etag = storage.put_conditional("lease", b"a")
    with pytest.raises(FileExistsError):
        storage.put_conditional("lease", b"b")
    with pytest.raises(FileExistsError):
        storage.put_conditional("lease", b"b", if_match='"0000"')
    new_etag = storage.put_conditional("lease", b"c", if_match=etag)
    assert storage.get_with_etag("lease") == (b"c", new_etag)
    with pytest.raises(NotImplementedError):
        open_storage("memory://x").put_conditional("lease", b"a")


def test_a_child_named_like_its_directory_is_listed(location: Location) -> None:
    storage = location.storage()
    leaf = location.url.rstrip("/").rsplit("/", 1)[-1]
    storage.put_atomic(leaf, b"x")
    assert storage.listdir() == [leaf]
