"""End to end against a real ``prefect server``: deploy, work pool, worker, automations, kill -9.

Slow (about 2 minutes): ``pytest -m slow tests/flows/test_e2e_server.py``.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prefect.client.orchestration import get_client

from tests.flows import prefect_api
from trainer import SnapshotConfig, Trainer

pytestmark = [pytest.mark.slow, pytest.mark.prefect]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEPLOYMENT = "train-experiment/ppo-cartpole"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real ``prefect server start`` (API, UI and services) on loopback; yields its env."""
    home, port = tmp_path_factory.mktemp("prefect-home"), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_API_URL=f"http://127.0.0.1:{port}/api", PREFECT_LOGGING_LEVEL="INFO",
               PREFECT_WORKER_QUERY_SECONDS="2", PYTHONPATH=str(REPO), PWD=str(REPO))
    log = open(home / "server.log", "w")
    proc = subprocess.Popen([BIN / "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{env['PREFECT_API_URL']}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (home / "server.log").read_text()[-3000:]
            time.sleep(1)
        yield env
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _cli(env, *args, timeout=300):
    result = subprocess.run([str(a) for a in args], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result.stdout


def test_killed_deployment_run_comes_back_by_itself_and_completes(server, tmp_path):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    env = server
    _cli(env, BIN / "prefect", "work-pool", "create", "trainflow-process", "--type", "process")
    _cli(env, BIN / "prefect", "deploy", "--all", "--prefect-file", "deployments/prefect.yaml",
         "--no-prompt")
    _cli(env, BIN / "trainflow", "automations", "install")
    worker_log = open(tmp_path / "worker.log", "w")
    worker = subprocess.Popen([BIN / "prefect", "worker", "start", "--pool",
                               "trainflow-process"], cwd=REPO, env=env, stdout=worker_log,
                              stderr=subprocess.STDOUT)
    progress, snapshot_dir = tmp_path / "epochs-done", str(tmp_path / "exp")
    params = {"snapshot_dir": snapshot_dir, "algo": "tests.flows.toy_algo:build", "n_epochs": 6,
              "batch_size": 50, "algo_kwargs": {"sleep_s": 1.0, "progress_file": str(progress)}}
    try:
        out = _cli(env, BIN / "prefect", "deployment", "run", DEPLOYMENT,
                   "--params", json.dumps(params))
        run_id = out.split("UUID:")[1].split()[0] if "UUID:" in out else None
        assert run_id, out
        deadline = time.monotonic() + 180
        while not (progress.exists() and len(progress.read_text().splitlines()) >= 2):
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.5)
        pid = int(progress.read_text().splitlines()[-1].split()[1])
        os.kill(pid, signal.SIGKILL)  # the flow-run process dies without a word

        with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}):
            run = prefect_api.poll(lambda: prefect_api.flow_run(run_id),
                                   lambda r: r.state.is_final(), timeout=240)
            assert run.state.is_completed(), (run.state, (tmp_path / "worker.log").read_text())
            with get_client(sync_client=True) as client:
                history = [st.name for st in client.read_flow_run_states(run.id)]
            # kill -9 -> Crashed (by the worker) -> AwaitingRestart (automation) -> resumed.
            # The worker may report the same crash twice; each report is one more restart.
            assert history.index("Crashed") < history.index("AwaitingRestart"), history
            assert history[-1] == "Completed" and run.run_count >= 2, history
            pids = {line.split()[1] for line in progress.read_text().splitlines()}
            assert len(pids) == 2  # two processes trained: the killed one and the restarted one

            # What a user sees in the UI, read through its API.
            task_runs = prefect_api.task_runs(run_id, expected=4 * 6)
            names = {r.name.split("-")[0] for r in task_runs}
            assert names == {"epoch", "sample", "optimize", "snapshot"}
            assert all(r.total_run_time.total_seconds() >= 0 and r.end_time for r in task_runs
                       if r.state.is_completed())
            artifacts = prefect_api.artifacts(run_id)
            kinds = {a.type for a in artifacts}
            assert {"progress", "table", "markdown"} <= kinds
            assert max(a.data for a in artifacts if a.type == "progress") == 100.0
            messages = prefect_api.logs(run_id, contains="Resumed")
            assert any("continuing at epoch" in m and "(attempt 2)" in m for m in messages)
            epoch_lines = prefect_api.logs(run_id, contains=" done in ")
            assert any(m.startswith("epoch #") for m in epoch_lines)  # the engine's own logger
        ui = httpx.get(env["PREFECT_API_URL"].removesuffix("/api") + "/", timeout=10)
        assert ui.status_code == 200 and "<html" in ui.text.lower()
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
        worker_log.close()

    trainer = Trainer(SnapshotConfig(snapshot_dir))
    trainer.restore(snapshot_dir)
    assert trainer._algo.optimize_calls == list(range(6))
