"""SIGKILL during saves, in real child processes, on local disk and on S3 (moto).

After every kill, a fresh process must find a committed snapshot that loads and is consistent
(its blob matches its epoch), and a restarted writer must carry on from it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer.snapshots import Snapshotter

from .conftest import Location

CHILD = str(Path(__file__).with_name("snapshot_child.py"))
pytestmark = pytest.mark.timeout(300)


def child_env(location: Location, request: pytest.FixtureRequest) -> dict[str, str]:
    if location.backend == "s3":
        env = request.getfixturevalue("s3_server").subprocess_env()
    else:
        env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), env.get("PYTHONPATH", "")])
    return env


def run_child(env, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, CHILD, "save", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def check_intact(location: Location) -> int:
    """Load 'last' in this (fresh) Snapshotter, check it is self-consistent, return its epoch."""
    snap = Snapshotter(location.url, "last", storage_options=location.options)
    state = snap.load(location.url, "last")
    epoch = state["epoch"]
    assert state["blob"] == bytes([epoch % 256]) * len(state["blob"])
    return epoch


# Puts of mode 'last': epoch 0 -> payload(1), record(2); every later epoch -> pending record,
# payload, record (3 puts). Epoch 2 is puts 6, 7, 8. Each local put fsyncs twice (file, dir).
LAST_MODE_KILLS = [
    ("put:6:before", 1),  # before the pending record
    ("put:7:before", 1),  # pending recorded, payload not yet replaced
    ("put:7:after", 2),  # payload replaced, final record missing: rolled forward
    ("fsync:13", 1),  # payload written to its temp file, not yet renamed
]


@pytest.mark.parametrize(("kill", "expected"), LAST_MODE_KILLS)
def test_last_mode_kill_at_each_step_local(tmp_path, request, kill, expected) -> None:
    location = Location("local", str(tmp_path / "run"), None)
    env = child_env(location, request)
    out = run_child(env, location.url, "last", 0, 5, 50_000, kill)
    assert out.returncode == -signal.SIGKILL, out.stderr
    assert out.stdout.split() == ["saved", "0", "saved", "1"]
    assert check_intact(location) == expected

    out = run_child(env, location.url, "last", expected + 1, 2, 50_000, "none")
    assert out.returncode == 0, out.stderr
    assert check_intact(location) == expected + 2


def test_all_mode_kill_before_record_local(tmp_path, request) -> None:
    location = Location("local", str(tmp_path / "run"), None)
    env = child_env(location, request)
    # Mode 'all': each epoch puts payload then record; epoch 2's record is put 6.
    out = run_child(env, location.url, "all", 0, 5, 50_000, "put:6:before")
    assert out.returncode == -signal.SIGKILL, out.stderr
    assert "itr_2.pkl" in os.listdir(location.url)  # the payload is there ...
    assert Snapshotter(location.url, "all").list_epochs() == [0, 1]  # ... but not committed
    assert check_intact(location) == 1


@pytest.mark.s3
@pytest.mark.parametrize(("kill", "expected"), [("put:7:before", 1), ("put:7:after", 2)])
def test_last_mode_kill_on_s3(request, s3_server, s3_bucket, kill, expected) -> None:
    location = Location("s3", f"s3://{s3_bucket}/run", s3_server.storage_options())
    env = child_env(location, request)
    out = run_child(env, location.url, "last", 0, 5, 50_000, kill)
    assert out.returncode == -signal.SIGKILL, out.stderr
    assert check_intact(location) == expected
    out = run_child(env, location.url, "last", expected + 1, 1, 50_000, "none")
    assert out.returncode == 0, out.stderr
    assert check_intact(location) == expected + 1


def random_kill_loop(location: Location, env, mode: str, cycles: int, size: int) -> None:
    rng = random.Random(1234)
    last_epoch = -1
    for _ in range(cycles):
        latest = Snapshotter(location.url, mode, storage_options=location.options).latest_epoch()
        start = 0 if latest is None else latest + 1
        proc = subprocess.Popen(
            [
                sys.executable,
                CHILD,
                "save",
                location.url,
                mode,
                str(start),
                "-1",
                str(size),
                "none",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(rng.uniform(0.6, 1.8))
        proc.kill()
        proc.communicate(timeout=60)
        if Snapshotter(location.url, mode, storage_options=location.options).latest_epoch() is None:
            continue  # killed before the first save committed
        epoch = check_intact(location)
        assert epoch >= last_epoch  # never goes back
        last_epoch = epoch
    assert last_epoch > 0


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["last", "all"])
def test_random_sigkill_loop_local(tmp_path, request, mode) -> None:
    location = Location("local", str(tmp_path / "run"), None)
    random_kill_loop(location, child_env(location, request), mode, cycles=25, size=4_000_000)


@pytest.mark.slow
@pytest.mark.s3
def test_random_sigkill_loop_s3(request, s3_server, s3_bucket) -> None:
    location = Location("s3", f"s3://{s3_bucket}/run", s3_server.storage_options())
    random_kill_loop(location, child_env(location, request), "last", cycles=15, size=1_000_000)
