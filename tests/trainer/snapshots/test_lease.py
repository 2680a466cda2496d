"""Lease: one live writer per snapshot_dir, across processes; takeover once the holder is gone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer.errors import ConfigError, ExperimentLockedError
from trainer.snapshots import LEASE_FILE, Lease, open_storage

CHILD = str(Path(__file__).with_name("snapshot_child.py"))
pytestmark = pytest.mark.timeout(120)


def start_holder(url: str, owner: str, ttl: float, env: dict[str, str]) -> subprocess.Popen:
    env = {**env, "PYTHONPATH": os.pathsep.join([os.getcwd(), env.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, CHILD, "lease", url, owner, str(ttl)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    assert line.strip() == "acquired", proc.stderr.read()
    return proc


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_local_lease_is_exclusive_across_processes_and_freed_by_death(tmp_path) -> None:
    url = str(tmp_path / "run")
    holder = start_holder(url, "run-A", 60, dict(os.environ))
    try:
        with pytest.raises(ExperimentLockedError) as info:
            Lease(open_storage(url), owner="run-B").acquire()
        message = str(info.value)
        assert "run 'run-A'" in message and f"pid {holder.pid}" in message
        assert socket.gethostname() in message and url in message
    finally:
        kill(holder)
    # The kernel dropped the dead holder's flock: no waiting for any expiry.
    lease = Lease(open_storage(url), owner="run-B").acquire()
    assert lease.held
    lease.release()


def test_local_lease_in_one_process(tmp_path) -> None:
    storage = open_storage(str(tmp_path))
    with Lease(storage, owner="first") as first:
        assert first.held
        with pytest.raises(ExperimentLockedError, match="run 'first'"):
            Lease(open_storage(str(tmp_path)), owner="second").acquire()
        first.renew()
    assert not first.held
    with Lease(storage, owner="second") as second:
        assert second.held
    assert os.path.exists(tmp_path / LEASE_FILE)


def test_memory_lease_expires_and_can_be_taken_over() -> None:
    storage = open_storage("memory://tf-lease-test/run")
    first = Lease(storage, owner="first", ttl=0.3).acquire()
    with pytest.raises(ExperimentLockedError, match="run 'first'"):
        Lease(storage, owner="second").acquire()
    time.sleep(0.4)
    second = Lease(storage, owner="second").acquire()
    with pytest.raises(ExperimentLockedError, match="expired"):
        first.renew()
    assert not first.held
    second.release()
    Lease(storage, owner="third").acquire().release()


@pytest.mark.parametrize(("owner", "ttl", "match"), [("", 1, "owner=''"), ("x", 0, "ttl=0")])
def test_bad_arguments(owner, ttl, match) -> None:
    with pytest.raises(ConfigError, match=match):
        Lease(open_storage("memory://tf-lease-bad"), owner=owner, ttl=ttl)


@pytest.mark.s3
def test_s3_lease_takeover_only_after_the_dead_holder_expires(s3_server, s3_bucket) -> None:
    url = f"s3://{s3_bucket}/run"
    storage = open_storage(url, s3_server.storage_options())
    holder = start_holder(url, "run-A", 3.0, s3_server.subprocess_env())
    kill(holder)
    killed_at = time.time()

    with pytest.raises(ExperimentLockedError, match="run 'run-A'") as info:
        Lease(storage, owner="run-B").acquire()
    assert "expires at" in str(info.value) and f"pid {holder.pid}" in str(info.value)

    time.sleep(max(0.0, killed_at + 3.2 - time.time()))
    lease = Lease(storage, owner="run-B", ttl=30).acquire()
    assert lease.held
    with pytest.raises(ExperimentLockedError, match="run 'run-B'"):
        Lease(storage, owner="run-C").acquire()
    lease.release()
    assert not storage.exists(LEASE_FILE)  # released leases are deleted on S3
    Lease(storage, owner="run-C").acquire().release()


@pytest.mark.s3
def test_s3_renew_fails_once_taken_over(s3_server, s3_bucket) -> None:
    storage = open_storage(f"s3://{s3_bucket}/run", s3_server.storage_options())
    first = Lease(storage, owner="first", ttl=0.5).acquire()
    first.renew()  # renewing a live lease works
    time.sleep(0.7)
    second = Lease(storage, owner="second", ttl=30).acquire()
    with pytest.raises(ExperimentLockedError, match="run 'second'"):
        first.renew()
    first.release()  # must not delete the new holder's lease
    assert storage.exists(LEASE_FILE)
    with pytest.raises(ExperimentLockedError):
        Lease(storage, owner="third").acquire()
    second.release()
