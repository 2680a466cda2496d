"""Snapshots on any storage: garage's Snapshotter with atomic commits, integrity checks and signing.

* :class:`Snapshotter` - garage's modes and file names, committed by a JSON record per payload.
* :class:`Storage` / :func:`open_storage` - one directory on local disk or any fsspec filesystem,
  with atomic writes, fresh listings and a deadline on every remote call.
* :class:`Lease` - one live writer per snapshot directory.
* :func:`storage_error` - how storage failures become
  :class:`~trainer.errors.SnapshotStorageError` (for callers that touch storage themselves).

See ``docs/snapshots.md`` for the layout, the commit protocol and the signing variables.
"""

from trainer.snapshots.lease import LEASE_FILE, Lease
from trainer.snapshots.signing import KEY_ENV, REQUIRE_ENV, load_key
from trainer.snapshots.snapshotter import MODES, Snapshotter, check_snapshot_options
from trainer.snapshots.storage import TIMEOUT_ENV, Storage, open_storage
from trainer.snapshots.storage_errors import is_storage_failure, storage_error

__all__ = [
    "KEY_ENV",
    "LEASE_FILE",
    "MODES",
    "REQUIRE_ENV",
    "TIMEOUT_ENV",
    "Lease",
    "Snapshotter",
    "Storage",
    "check_snapshot_options",
    "is_storage_failure",
    "load_key",
    "open_storage",
    "storage_error",
]
