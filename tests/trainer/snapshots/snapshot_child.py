"""Child process for kill and lease tests (run as a script by the tests, never collected).

Usage::

    python snapshot_child.py save URL MODE FIRST_EPOCH N_EPOCHS PAYLOAD_BYTES KILL
    python snapshot_child.py lease URL OWNER TTL

``save`` writes epochs FIRST_EPOCH.. (N_EPOCHS < 0: forever), each a dict whose ``blob`` is
PAYLOAD_BYTES copies of ``epoch % 256``, and prints ``saved <epoch>`` after each. KILL is
``none``, ``put:<k>:before|after`` (SIGKILL itself around the k-th ``Storage.put_atomic`` call of
this process) or ``fsync:<k>`` (SIGKILL at the k-th ``os.fsync``: a local temp file is written
but not yet renamed). The real Snapshotter runs unchanged; only these calls are wrapped.

``lease`` takes the lease, prints ``acquired`` and sleeps until killed.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from trainer.snapshots import Lease, Snapshotter, Storage, open_storage


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _install_kill(spec: str) -> None:
    if spec == "none":
        return
    kind, _, rest = spec.partition(":")
    if kind == "put":
        index, when = rest.split(":")
        real, count = Storage.put_atomic, [0]

        def put_atomic(self, name, data):
            count[0] += 1
            if count[0] == int(index) and when == "before":
                _die()
            real(self, name, data)
            if count[0] == int(index) and when == "after":
                _die()

        Storage.put_atomic = put_atomic
    elif kind == "fsync":
        real_fsync, calls = os.fsync, [0]

        def fsync(fd):
            calls[0] += 1
            if calls[0] == int(rest):
                _die()
            real_fsync(fd)

        os.fsync = fsync
    else:
        raise SystemExit(f"unknown kill spec {spec!r}")


def save(url: str, mode: str, first: int, n_epochs: int, size: int, kill: str) -> None:
    snap = Snapshotter(url, mode)
    _install_kill(kill)
    epoch = first
    while n_epochs < 0 or epoch < first + n_epochs:
        snap.save_itr_params(epoch, {"epoch": epoch, "blob": bytes([epoch % 256]) * size})
        print(f"saved {epoch}", flush=True)
        epoch += 1


def lease(url: str, owner: str, ttl: float) -> None:
    Lease(open_storage(url), owner=owner, ttl=ttl).acquire()
    print("acquired", flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "save":
        save(args[0], args[1], int(args[2]), int(args[3]), int(args[4]), args[5])
    elif command == "lease":
        lease(args[0], args[1], float(args[2]))
    else:
        raise SystemExit(f"unknown command {command!r}")
