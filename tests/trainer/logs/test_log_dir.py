import os
import warnings

import pytest

from trainer.errors import SnapshotStorageError
from trainer.logs.log_dir import LogDir
from trainer.snapshots import Storage


def test_local_paths_and_file_urls_are_written_in_place(tmp_path):
    for url in (str(tmp_path / "exp"), f"file://{tmp_path}/exp"):
        log_dir = LogDir(url)
        assert not log_dir.is_remote
        assert log_dir.path("tb/events.x") == os.path.join(str(tmp_path / "exp"), "tb", "events.x")
    assert LogDir("s3://bucket/exp").is_remote
    assert LogDir("memory://exp").is_remote


def test_remote_files_are_downloaded_staged_and_uploaded(memory_url, remote, uploads):
    remote.put_atomic("progress.csv", b"Epoch\n0\n")
    uploads.clear()
    log_dir = LogDir(memory_url)
    staged = log_dir.path("progress.csv")
    with open(staged, encoding="utf-8") as file:
        assert file.read() == "Epoch\n0\n"  # downloaded so a resumed run appends
    with open(staged, "a", encoding="utf-8") as file:
        file.write("1\n")
    os.makedirs(log_dir.path("tb"))
    with open(log_dir.path("tb/events.out.tfevents.1"), "wb") as file:
        file.write(b"event")
    assert not os.path.exists(log_dir.path("debug.log"))  # absent remotely: nothing to download
    log_dir.mark_changed("progress.csv")
    log_dir.mark_changed("tb/events.out.tfevents.1")
    assert log_dir.push()
    assert log_dir.push()  # nothing changed since: nothing uploaded again
    assert sorted(uploads) == ["events.out.tfevents.1", "progress.csv"]
    assert remote.get("progress.csv") == b"Epoch\n0\n1\n"
    assert Storage(f"{memory_url}/tb").get("events.out.tfevents.1") == b"event"
    staging = os.path.dirname(staged)
    log_dir.close()
    log_dir.close()
    assert not os.path.exists(staging)


def _fail(*args, **kwargs):
    raise SnapshotStorageError("endpoint unreachable (injected)")


def test_failed_upload_warns_once_and_is_retried(memory_url, remote, monkeypatch):
    log_dir = LogDir(memory_url)
    with open(log_dir.path("debug.log"), "w", encoding="utf-8") as file:
        file.write("line\n")
    log_dir.mark_changed("debug.log")
    with monkeypatch.context() as patch:
        patch.setattr(Storage, "put_atomic", _fail)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert not log_dir.push()
            assert not log_dir.push()
    assert [str(w.message) for w in caught if w.category is RuntimeWarning] == [
        f"could not upload log file 'debug.log' to {memory_url!r}: endpoint unreachable "
        "(injected); it is retried after the next dump (logs are staged in "
        f"{os.path.dirname(log_dir.path('debug.log'))!r})"]
    assert not remote.exists("debug.log")
    assert log_dir.push()
    assert remote.get("debug.log") == b"line\n"
    log_dir.close()


def test_unreadable_remote_logs_stop_instead_of_being_overwritten(memory_url, monkeypatch):
    monkeypatch.setattr(Storage, "get", _fail)
    log_dir = LogDir(memory_url)
    with pytest.raises(SnapshotStorageError, match="could not download the existing"):
        log_dir.path("progress.csv")
