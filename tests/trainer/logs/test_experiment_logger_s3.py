"""ExperimentLogger against a real S3-speaking server (moto) on 127.0.0.1."""

import csv
import io
import warnings

import pytest

from trainer.logs import ExperimentLogger
from trainer.snapshots import open_storage

pytestmark = pytest.mark.s3


def _epochs(logger, epochs):
    for epoch in epochs:
        logger.record_many({"Epoch": epoch, "TotalEnvSteps": 100 * (epoch + 1), "Note": "a,b"})
        logger.dump(epoch)


def _progress(url, options):
    text = open_storage(url, options).get("progress.csv").decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_s3_logs_are_uploaded_and_appended_by_a_resumed_run(s3_server, s3_bucket):
    url = f"s3://{s3_bucket}/exp"
    options = s3_server.storage_options()
    logger = ExperimentLogger(url, options, stdout=False)
    logger.log("first run")
    _epochs(logger, range(3))
    assert [row["Epoch"] for row in _progress(url, options)] == ["0", "1", "2"]
    logger.close()
    resumed = ExperimentLogger(url, options, stdout=False)
    resumed.truncate_after(1)
    resumed.log("resumed run")
    _epochs(resumed, range(2, 4))
    resumed.close()
    rows = _progress(url, options)
    assert [row["Epoch"] for row in rows] == ["0", "1", "2", "3"]
    assert {row["Note"] for row in rows} == {"a,b"}
    debug = open_storage(url, options).get("debug.log").decode("utf-8")
    assert debug.index("first run") < debug.index("resumed run")
    assert len(open_storage(f"{url}/tb", options).listdir()) == 2


def test_s3_outage_during_training_warns_and_catches_up(s3_server, s3_bucket, s3_proxy):
    url = f"s3://{s3_bucket}/exp"
    options = s3_server.storage_options(endpoint=s3_proxy.endpoint, fast_fail=True)
    logger = ExperimentLogger(url, options, stdout=False)
    _epochs(logger, range(1))
    s3_proxy.set_mode("refuse")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _epochs(logger, range(1, 3))  # training goes on; the rows wait in the staging directory
    assert sum("could not upload log file" in str(w.message) for w in caught) == 1
    direct = s3_server.storage_options()
    assert [row["Epoch"] for row in _progress(url, direct)] == ["0"]
    s3_proxy.set_mode("pass")
    _epochs(logger, range(3, 4))
    assert [row["Epoch"] for row in _progress(url, direct)] == ["0", "1", "2", "3"]
    logger.close()
