"""A training run over s3:// (moto on 127.0.0.1): save, list, restore and resume, exactly."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.trainer.numpy_experiment import BATCH_SIZE, build
from trainer import SnapshotConfig, Trainer
from trainer.snapshots import open_storage

pytestmark = pytest.mark.s3
REPO = Path(__file__).resolve().parents[2]


def epochs_in_csv(storage) -> list[int]:
    rows = csv.DictReader(io.StringIO(storage.get("progress.csv").decode()))
    return [int(row["Epoch"]) for row in rows]


def test_run_saves_lists_restores_and_resumes_over_s3(s3_server, s3_bucket, tmp_path):
    options = {"endpoint_url": s3_server.endpoint}
    url = f"s3://{s3_bucket}/runs/exp"

    whole = build(str(tmp_path / "local"), mode="all")
    whole.train(n_epochs=5, batch_size=BATCH_SIZE)

    first = Trainer(SnapshotConfig(url, "all", 1, options))
    part = build(str(tmp_path / "unused"), mode="all")
    first.setup(part._algo, part._env)
    first.train(n_epochs=3, batch_size=BATCH_SIZE)
    first.logger.close()

    storage = open_storage(url, options)
    assert {"itr_0.pkl", "itr_2.pkl", "itr_2.pkl.commit.json"} <= set(storage.listdir())
    assert first.latest_snapshot_epoch() == 2
    assert epochs_in_csv(storage) == [0, 1, 2]

    # A new process continues the run from S3 alone.
    code = ("import sys, numpy as np; from trainer import SnapshotConfig, Trainer;"
            f"t = Trainer(SnapshotConfig({url!r}, 'all', 1, {options!r}));"
            f"t.restore({url!r}); t.resume(n_epochs=5); t.logger.close();"
            f"np.save({str(tmp_path / 'params.npy')!r}, t._algo.policy.get_param_values())")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=300,
                   capture_output=True, env=s3_server.subprocess_env())
    np.testing.assert_array_equal(np.load(tmp_path / "params.npy"),
                                  whole._algo.policy.get_param_values())
    assert epochs_in_csv(storage) == [0, 1, 2, 3, 4]
    assert Trainer(SnapshotConfig(url, "all", 1, options)).latest_snapshot_epoch() == 4
