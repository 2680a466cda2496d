import csv

from trainer.logs.csv_log import ProgressCsv


def _read(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_rows_append_across_instances(tmp_path):
    path = str(tmp_path / "progress.csv")
    first = ProgressCsv(path)
    first.append({"Epoch": 0, "Return": 1.5})
    first.close()
    second = ProgressCsv(path)  # a resumed process
    second.append({"Epoch": 1, "Return": 2.5})
    second.close()
    assert _read(path) == [["Epoch", "Return"], ["0", "1.5"], ["1", "2.5"]]


def test_new_key_extends_header_and_keeps_old_rows(tmp_path):
    path = str(tmp_path / "progress.csv")
    log = ProgressCsv(path)
    log.append({"Epoch": 0, "Return": 1.0})
    log.append({"Epoch": 1, "KL": 0.01, "Return": 2.0})
    log.append({"Return": 3.0, "Epoch": 2})  # missing key -> empty cell
    log.close()
    assert _read(path) == [
        ["Epoch", "Return", "KL"],
        ["0", "1.0", ""],
        ["1", "2.0", "0.01"],
        ["2", "3.0", ""],
    ]
    assert ProgressCsv(path).fieldnames == ["Epoch", "Return", "KL"]


def test_values_with_commas_quotes_newlines_and_non_ascii_round_trip(tmp_path):
    path = str(tmp_path / "progress.csv")
    log = ProgressCsv(path)
    tricky = {"Epoch": 0, "Env": 'Pendulum, "v1"', "Note": "línea 1\nlínea 2 ✓", "Ünïcode,key": 3}
    log.append(tricky)
    log.close()
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert rows == [{key: str(value) for key, value in tricky.items()}]
    assert '"Pendulum, ""v1"""' in (tmp_path / "progress.csv").read_text(encoding="utf-8")


def test_truncate_after_drops_later_epochs_only(tmp_path):
    path = str(tmp_path / "progress.csv")
    log = ProgressCsv(path)
    for epoch in range(5):
        log.append({"Epoch": epoch, "Return": float(epoch)})
    dropped = log.truncate_after(2)
    assert [row["Epoch"] for row in dropped] == ["3", "4"]
    log.append({"Epoch": 3, "Return": 30.0})  # the re-run epoch
    log.close()
    assert [row[0] for row in _read(path)] == ["Epoch", "0", "1", "2", "3"]
    assert _read(path)[-1] == ["3", "30.0"]


def test_truncate_after_keeps_rows_without_epoch_and_no_column_is_noop(tmp_path):
    path = str(tmp_path / "progress.csv")
    log = ProgressCsv(path)
    log.append({"Return": 1.0})
    assert log.truncate_after(0) == []
    log.append({"Return": 2.0, "Epoch": 5})
    assert [row["Epoch"] for row in log.truncate_after(-1)] == ["5"]
    log.close()
    assert _read(path) == [["Return", "Epoch"], ["1.0", ""]]


def test_incomplete_last_row_from_a_killed_writer_is_removed(tmp_path):
    path = tmp_path / "progress.csv"
    path.write_text("Epoch,Return\n0,1.0\n1,2.", encoding="utf-8")
    log = ProgressCsv(str(path))
    log.append({"Epoch": 1, "Return": 2.5})
    log.close()
    assert _read(path) == [["Epoch", "Return"], ["0", "1.0"], ["1", "2.5"]]


def test_nothing_is_created_before_first_use_and_close_is_idempotent(tmp_path):
    path = tmp_path / "sub" / "progress.csv"
    log = ProgressCsv(str(path))
    assert not path.parent.exists()
    log.close()
    log.append({"Epoch": 0})
    log.close()
    log.close()
    log.append({"Epoch": 1})  # reopened after close
    log.close()
    assert _read(path) == [["Epoch"], ["0"], ["1"]]
