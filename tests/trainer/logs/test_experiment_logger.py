import csv
import logging
import os
import pickle
import re
import statistics
import time
import warnings

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from trainer.errors import ConfigError
from trainer.logs import ExperimentLogger
from trainer.logs.table import format_table
from trainer.snapshots import Storage

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| (.*)$")


def _csv_rows(log_dir):
    with open(os.path.join(log_dir, "progress.csv"), newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _tb(log_dir):
    accumulator = EventAccumulator(os.path.join(log_dir, "tb"))
    accumulator.Reload()
    return accumulator


def _steps_and_values(log_dir, tag):
    return [(event.step, event.value) for event in _tb(log_dir).Scalars(tag)]


def _run_epochs(logger, epochs, steps_per_epoch=100, offset=0.0):
    """Log rows the way the trainer does: Epoch and TotalEnvSteps, then dump."""
    for epoch in epochs:
        logger.record("Epoch", epoch)
        logger.record("Evaluation/AverageReturn", epoch + offset)
        logger.record("TotalEnvSteps", (epoch + 1) * steps_per_epoch)
        logger.dump(epoch)


def test_log_lines_have_timestamp_and_prefix_in_every_output(tmp_path, capsys, caplog):
    logger = ExperimentLogger(str(tmp_path))
    caplog.set_level(logging.INFO, logger="trainflow")
    logger.log("Obtaining samples...")
    with logger.prefix("epoch #3 | "):
        logger.log("Saving snapshot...")
        with logger.prefix("[ppo] "):
            logger.log("naïve, ünïcode")
    logger.log("done")
    logger.close()
    expected = ["Obtaining samples...", "epoch #3 | Saving snapshot...",
                "epoch #3 | [ppo] naïve, ünïcode", "done"]
    text = (tmp_path / "debug.log").read_text(encoding="utf-8").splitlines()
    assert [LINE.match(line).group(1) for line in text] == expected
    assert capsys.readouterr().out.splitlines() == text
    assert [r.getMessage() for r in caplog.records if r.name == "trainflow"] == expected


def test_debug_log_is_appended_by_a_second_logger(tmp_path):
    for msg in ("first run", "resumed run"):
        logger = ExperimentLogger(str(tmp_path), stdout=False)
        logger.log(msg)
        logger.close()
    lines = (tmp_path / "debug.log").read_text(encoding="utf-8").splitlines()
    assert [LINE.match(line).group(1) for line in lines] == ["first run", "resumed run"]


def test_dump_prints_table_writes_csv_clears_tabular_and_returns_row(tmp_path, capsys, caplog):
    logger = ExperimentLogger(str(tmp_path))
    caplog.set_level(logging.INFO, logger="trainflow")
    logger.record("Epoch", 0)
    logger.record_many({"TotalEnvSteps": 400, "Loss": np.float32(0.5), "Algo": "PPO"})
    assert logger.tabular == {"Epoch": 0, "TotalEnvSteps": 400, "Loss": 0.5, "Algo": "PPO"}
    assert type(logger.tabular["Loss"]) is float  # numpy scalars become Python numbers
    row = logger.dump(0)
    assert row == {"Epoch": 0, "TotalEnvSteps": 400, "Loss": 0.5, "Algo": "PPO"}
    assert logger.tabular == {}
    assert capsys.readouterr().out == format_table(row) + "\n"
    assert any(format_table(row) in r.getMessage() for r in caplog.records)
    assert _csv_rows(tmp_path) == [{"Epoch": "0", "TotalEnvSteps": "400", "Loss": "0.5",
                                    "Algo": "PPO"}]
    assert logger.dump(1) == {}  # nothing recorded: nothing written
    logger.close()
    assert len(_csv_rows(tmp_path)) == 1


def test_progress_csv_is_appended_by_a_resumed_process_with_new_columns(tmp_path):
    first = ExperimentLogger(str(tmp_path), stdout=False)
    _run_epochs(first, range(2))
    first.close()
    second = ExperimentLogger(str(tmp_path), stdout=False)  # new process, same snapshot_dir
    second.record("Policy/KL", 0.02)  # a key the first run never had
    _run_epochs(second, range(2, 4))
    second.close()
    rows = _csv_rows(tmp_path)
    assert [row["Epoch"] for row in rows] == ["0", "1", "2", "3"]
    assert list(rows[0]) == ["Epoch", "Evaluation/AverageReturn", "TotalEnvSteps", "Policy/KL"]
    assert [row["Policy/KL"] for row in rows] == ["", "", "0.02", ""]


def test_tensorboard_x_axis_is_total_env_steps(tmp_path):
    logger = ExperimentLogger(str(tmp_path), stdout=False)
    for epoch in range(3):
        logger.record_many({"Epoch": epoch, "TotalEnvSteps": 1000 * (epoch + 1),
                            "Evaluation/AverageReturn": 10.0 * epoch, "Algo": "PPO"})
        logger.dump(epoch)  # dump step (0, 1, 2) differs from the x axis
    logger.close()
    tags = _tb(tmp_path).Tags()["scalars"]
    assert sorted(tags) == ["Epoch", "Evaluation/AverageReturn"]  # no x-axis key, no strings
    assert _steps_and_values(tmp_path, "Evaluation/AverageReturn") == [
        (1000, 0.0), (2000, 10.0), (3000, 20.0)]


def test_missing_x_axis_falls_back_to_step_with_one_warning(tmp_path):
    logger = ExperimentLogger(str(tmp_path), stdout=False, x_axis="Time")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in (5, 6):
            logger.record("Loss", float(step))
            logger.dump(step)
    logger.close()
    messages = [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert len(messages) == 1
    assert "x_axis='Time'" in messages[0] and "dump step (5)" in messages[0]
    assert _steps_and_values(tmp_path, "Loss") == [(5, 5.0), (6, 6.0)]


def test_truncate_after_makes_a_resumed_run_log_each_epoch_once(tmp_path):
    # Run A logs epochs 0-3 but dies before committing epoch 3's snapshot (last is epoch 2).
    first = ExperimentLogger(str(tmp_path), stdout=False)
    _run_epochs(first, range(4))
    first.close()
    # Run B restores epoch 2 and re-runs 3, then 4, with different returns.
    second = ExperimentLogger(str(tmp_path), stdout=False)
    second.truncate_after(2)
    _run_epochs(second, range(3, 5), offset=0.5)
    second.close()
    rows = _csv_rows(tmp_path)
    assert [row["Epoch"] for row in rows] == ["0", "1", "2", "3", "4"]
    assert rows[3]["Evaluation/AverageReturn"] == "3.5"
    assert _steps_and_values(tmp_path, "Evaluation/AverageReturn") == [
        (100, 0.0), (200, 1.0), (300, 2.0), (400, 3.5), (500, 4.5)]
    lines = (tmp_path / "debug.log").read_text(encoding="utf-8")
    assert "dropped 1 row(s) of epochs after 2" in lines


def test_truncate_after_without_later_rows_changes_nothing(tmp_path):
    logger = ExperimentLogger(str(tmp_path), stdout=False)
    logger.truncate_after(5)  # fresh directory
    _run_epochs(logger, range(2))
    before = (tmp_path / "progress.csv").read_bytes()
    logger.truncate_after(1)
    logger.close()
    assert (tmp_path / "progress.csv").read_bytes() == before
    assert not (tmp_path / "debug.log").exists()  # nothing dropped, nothing to report


def test_remote_log_dir_is_staged_and_uploaded_after_each_dump(memory_url, remote, uploads,
                                                                tmp_path):
    logger = ExperimentLogger(memory_url, stdout=False)
    logger.log("hello")
    assert uploads == []  # text lines wait for the next dump
    _run_epochs(logger, range(2))
    assert remote.get("progress.csv").decode().splitlines()[1:] == ["0,0.0,100", "1,1.0,200"]
    assert remote.get("debug.log").decode().endswith("| hello\n")
    tb_files = {name for name in uploads if name.startswith("events.out.tfevents.")}
    assert len(tb_files) == 1
    logger.close()
    # A resumed process on another machine appends to the uploaded files.
    resumed = ExperimentLogger(memory_url, stdout=False)
    resumed.truncate_after(0)
    _run_epochs(resumed, range(1, 3), offset=0.5)
    resumed.close()
    lines = remote.get("progress.csv").decode().splitlines()
    assert [line.split(",")[0] for line in lines] == ["Epoch", "0", "1", "2"]
    assert remote.get("debug.log").decode().count("| hello\n") == 1
    tb_names = sorted(name for name in uploads if name.startswith("events.out.tfevents."))
    tb_dir = os.path.join(str(tmp_path), "tb")
    os.makedirs(tb_dir)
    for name in set(tb_names):
        with open(os.path.join(tb_dir, name), "wb") as file:
            file.write(Storage(f"{memory_url}/tb").get(name))
    assert len(set(tb_names)) == 2
    assert _steps_and_values(os.path.dirname(tb_dir), "Evaluation/AverageReturn") == [
        (100, 0.0), (200, 1.5), (300, 2.5)]


def test_nothing_is_written_before_first_use_and_close_is_idempotent(tmp_path):
    log_dir = tmp_path / "exp"
    logger = ExperimentLogger(str(log_dir), stdout=False)
    logger.record_many({"Epoch": 0, "TotalEnvSteps": 0})
    logger.close()
    assert not log_dir.exists()
    assert logger.tabular == {"Epoch": 0, "TotalEnvSteps": 0}  # close keeps what was not dumped
    logger.dump(0)
    logger.close()
    logger.close()
    logger.log("after close")  # reopens lazily
    logger.close()
    assert sorted(os.listdir(log_dir)) == ["debug.log", "progress.csv", "tb"]
    assert (log_dir / "debug.log").read_text(encoding="utf-8").endswith("| after close\n")


def test_outputs_can_be_switched_off(tmp_path, capsys):
    with ExperimentLogger(str(tmp_path), stdout=False, tensorboard=False) as logger:
        logger.log("quiet")
        _run_epochs(logger, range(1))
    assert capsys.readouterr().out == ""
    assert sorted(os.listdir(tmp_path)) == ["debug.log", "progress.csv"]


@pytest.mark.parametrize(("call", "error", "text"), [
    (lambda tmp: ExperimentLogger(""), ConfigError, "log_dir=''"),
    (lambda tmp: ExperimentLogger(None), ConfigError, "log_dir=None"),
    (lambda tmp: ExperimentLogger(tmp, x_axis=""), ConfigError, "x_axis=''"),
    (lambda tmp: ExperimentLogger(tmp).record("", 1), TypeError, "tabular key=''"),
    (lambda tmp: ExperimentLogger(tmp).record(3, 1), TypeError, "tabular key=3"),
    (lambda tmp: ExperimentLogger(tmp).record("Loss", [1, 2]), TypeError, "Loss=[1, 2]"),
    (lambda tmp: ExperimentLogger(tmp).record("Loss", np.zeros(2)), TypeError, "Loss=array"),
    (lambda tmp: ExperimentLogger(tmp).dump("3"), TypeError, "step='3'"),
    (lambda tmp: ExperimentLogger(tmp).truncate_after(1.5), TypeError, "epoch=1.5"),
    (lambda tmp: ExperimentLogger(tmp).prefix(3).__enter__(), TypeError, "text=3"),
])
def test_bad_input_names_parameter_and_writes_nothing(tmp_path, call, error, text):
    log_dir = str(tmp_path / "exp")
    with pytest.raises(error, match=re.escape(text)):
        call(log_dir)
    assert not os.path.exists(log_dir)


def test_dump_of_30_keys_takes_well_under_5_ms(tmp_path, capsys):
    logger = ExperimentLogger(str(tmp_path))
    keys = [f"Group{i % 4}/Metric{i}" for i in range(28)]
    durations = []
    for epoch in range(60):
        logger.record_many({key: epoch * 0.1 + i for i, key in enumerate(keys)})
        logger.record_many({"Epoch": epoch, "TotalEnvSteps": 1000 * epoch})
        start = time.perf_counter()
        logger.dump(epoch)
        durations.append(time.perf_counter() - start)
    logger.close()
    # The first dump opens the files (and imports tensorboard's protos); later ones are the cost
    # paid every epoch.
    assert statistics.median(durations[1:]) < 0.005
    assert len(_csv_rows(tmp_path)) == 60


def test_a_pickled_copy_keeps_settings_and_row_and_appends_to_the_same_files(tmp_path):
    logger = ExperimentLogger(str(tmp_path), stdout=False, x_axis="Steps")
    logger.log("before")
    logger.record_many({"Epoch": 0, "Steps": 10})
    copy = pickle.loads(pickle.dumps(logger))  # open files and locks are not pickled
    logger.close()
    assert copy.tabular == {"Epoch": 0, "Steps": 10}
    assert copy.x_axis == "Steps"
    copy.log("after")
    copy.dump(0)
    copy.close()
    lines = (tmp_path / "debug.log").read_text(encoding="utf-8").splitlines()
    assert [LINE.match(line).group(1) for line in lines] == ["before", "after"]
    assert _steps_and_values(tmp_path, "Epoch") == [(10, 0.0)]
