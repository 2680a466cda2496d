import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.cli import main
from flows.train import train_experiment
from trainer import SnapshotConfig, Trainer
from trainer.errors import ExperimentLockedError

REPO = Path(__file__).resolve().parents[2]
TRAINFLOW = str(Path(sys.executable).with_name("trainflow"))
TOY = "tests.flows.toy_algo:build"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PYTHONPATH=str(REPO), PREFECT_SERVER_ANALYTICS_ENABLED="false", **extra)
    return env


def _wait_for_lines(path: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= n:
            return
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        time.sleep(0.2)
    pytest.fail(f"the training process did not finish {n} epochs in {timeout} s")


class TestArguments:
    def test_unknown_algorithm_fails_before_any_flow_run(self, tmp_path, capsys):
        assert main(["train", "--snapshot-dir", str(tmp_path), "--algo", "DQN"]) == 1
        assert "algo='DQN' is not a known algorithm" in capsys.readouterr().err
        assert list(tmp_path.iterdir()) == []

    def test_json_options_must_be_objects(self, tmp_path, capsys):
        with pytest.raises(SystemExit) as exit_info:
            main(["train", "--snapshot-dir", str(tmp_path), "--algo-kwargs", "[1]"])
        assert exit_info.value.code == 2
        assert "is not a JSON object" in capsys.readouterr().err


@pytest.mark.prefect
def test_killed_run_is_exclusive_while_alive_and_resumes_when_started_again(
    prefect_harness, tmp_path
):
    import tensorflow  # noqa: F401 - warm up now, so the second run starts while the first trains

    snapshot_dir, progress = str(tmp_path / "exp"), tmp_path / "epochs-done"
    kwargs = f'{{"sleep_s": 1.0, "progress_file": "{progress}"}}'
    first = subprocess.Popen(
        [
            TRAINFLOW,
            "train",
            "--snapshot-dir",
            snapshot_dir,
            "--algo",
            TOY,
            "--n-epochs",
            "8",
            "--batch-size",
            "50",
            "--algo-kwargs",
            kwargs,
        ],
        cwd=tmp_path,
        env=_env(PREFECT_API_URL=prefect_harness),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for_lines(progress, 1, first)
        # A second run on the same experiment while the first is alive is refused.
        state = train_experiment.with_options(retries=0)(
            snapshot_dir=snapshot_dir, algo=TOY, n_epochs=8, batch_size=50, return_state=True
        )
        assert state.is_failed()
        with pytest.raises(ExperimentLockedError, match=r"is in use by run 'flow run train-exp"):
            state.result()

        _wait_for_lines(progress, 3, first)  # epochs 0 and 1 are saved, epoch 2 is running
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        first.kill()
    assert first.returncode == -signal.SIGKILL
    saved = Trainer(SnapshotConfig(snapshot_dir)).latest_snapshot_epoch()
    assert saved is not None and 1 <= saved < 7

    # Started again, with Prefect's embedded API (no server): it resumes after the saved epoch.
    resumed = subprocess.run(
        [TRAINFLOW, "resume", snapshot_dir],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_LOGGING_LEVEL="INFO"),
    )
    output = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, output[-3000:]
    assert f"snapshot of epoch {saved}: continuing at epoch {saved + 1} of 8" in output, [
        line for line in output.splitlines() if "Resumed" in line or "Restore" in line]
    assert "finished; last epoch's average return:" in output

    trainer = Trainer(SnapshotConfig(snapshot_dir))
    trainer.restore(snapshot_dir)
    assert trainer.stats.total_epoch == 7
    assert trainer._algo.optimize_calls == list(range(8))  # nothing lost, nothing repeated
