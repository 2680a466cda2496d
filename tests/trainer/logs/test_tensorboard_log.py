import inspect
import subprocess
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from trainer.logs.tensorboard_log import TensorBoardLog


def _scalars(directory, tag):
    accumulator = EventAccumulator(str(directory))
    accumulator.Reload()
    return [(event.step, event.value) for event in accumulator.Scalars(tag)]


def test_scalars_are_readable_by_tensorboard(tmp_path):
    log = TensorBoardLog(str(tmp_path / "tb"))
    log.add_scalars(100, {"Evaluation/AverageReturn": 1.5, "Loss": -0.25})
    log.add_scalars(250, {"Evaluation/AverageReturn": 3.0, "Loss": -0.5})
    log.close()
    assert log.file_name.startswith("events.out.tfevents.")
    assert _scalars(tmp_path / "tb", "Evaluation/AverageReturn") == [(100, 1.5), (250, 3.0)]
    assert _scalars(tmp_path / "tb", "Loss") == [(100, -0.25), (250, -0.5)]


def test_purge_from_hides_points_of_rerun_epochs_in_older_files(tmp_path):
    first = TensorBoardLog(str(tmp_path))
    for step in (10, 20, 30):
        first.add_scalars(step, {"Return": float(step)})
    first.close()
    second = TensorBoardLog(str(tmp_path))  # a resumed process, new file
    second.purge_from(21)
    second.add_scalars(30, {"Return": 33.0})
    second.close()
    assert first.file_name != second.file_name
    assert _scalars(tmp_path, "Return") == [(10, 10.0), (20, 20.0), (30, 33.0)]


def test_writing_does_not_import_tensorflow(tmp_path):
    # EventFileWriter imports TensorFlow for tf.io.gfile and tf.summary builds graph ops; this
    # writer needs neither. The module is loaded alone because `import trainer` imports TF.
    script = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("tb_log", {inspect.getfile(TensorBoardLog)!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
log = module.TensorBoardLog({str(tmp_path)!r})
log.add_scalars(7, {{"x": 1.0}})
log.close()
assert "tensorflow" not in sys.modules, "TensorFlow was imported"
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    assert _scalars(tmp_path, "x") == [(7, 1.0)]
