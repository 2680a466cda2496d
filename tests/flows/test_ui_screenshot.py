"""See the Prefect UI for real: a real ``prefect server``, a real flow run, a headless Chromium.

The test trains PPO on CartPole for a few epochs with ``trainflow train`` against the server,
then loads the UI's pages in headless Chromium. It checks the rendered DOM for the task runs and
artifacts the run created (names and values read back from the API), and that the screenshots
are real pictures, not blank pages. Slow (about a minute) and skipped where Chromium is missing:
``pytest -m slow tests/flows/test_ui_screenshot.py``. Set ``TRAINFLOW_SCREENSHOT_DIR`` to keep
the screenshots (``docs/img/`` holds two of them).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest

from tests.flows import prefect_api
from tests.flows.test_e2e_server import BIN, REPO, server  # noqa: F401 - the server fixture

CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome")
                 if (path := shutil.which(name))), None)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.prefect,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH: install it (Debian: "
                       "`apt-get install chromium`) to screenshot the Prefect UI"),
]

#: This machine has no outside network: the flags stop Chromium from reaching for it.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--hide-scrollbars", "--window-size=1600,1000",
                  "--virtual-time-budget=15000")
N_EPOCHS = 4
PHASES = ("epoch", "sample", "optimize", "snapshot")
#: What the UI shows when it cannot reach its API (e.g. a wrong PREFECT_UI_API_URL).
UI_ERRORS = ("Something went wrong", "Can't connect")


def _chromium(tmp_path: Path, *args: str, timeout: float = 120.0) -> str:
    """Run headless Chromium with a fresh profile; return its stdout."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path)
    proc = subprocess.Popen([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: the renderers go with it
        out, err = proc.communicate()
        pytest.fail(f"chromium {args} did not finish in {timeout} s: {err[-2000:]}")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert proc.returncode == 0, err[-2000:]
    return out


def _page(tmp_path: Path, url: str, png: Path, expected: list[str]) -> str:
    """Screenshot ``url`` into ``png`` once its DOM holds every string of ``expected``.

    Returns:
        The page's DOM as rendered, the last try's if something expected never showed.
    """
    for _ in range(3):  # the UI polls the API; on a busy machine a first load can be early
        dom = _chromium(tmp_path, "--dump-dom", url)
        if all(text in dom for text in expected):
            break
    _chromium(tmp_path, f"--screenshot={png}", url)
    keep = os.environ.get("TRAINFLOW_SCREENSHOT_DIR")
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(png, keep)
    return dom


def _png_colors(path: Path) -> tuple[int, int, int]:
    """Decode an 8-bit RGB or RGBA PNG with ``zlib``; return its width, height and colour count."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
    width, height, depth, color_type, _, _, interlace = header
    assert depth == 8 and color_type in (2, 6) and not interlace, f"unexpected PNG {header}"
    bpp = 3 if color_type == 2 else 4
    raw, stride = zlib.decompress(b"".join(chunks)), width * bpp
    prev, colors = bytearray(stride), set()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:  # Up
            line = bytearray((a + b) & 255 for a, b in zip(line, prev, strict=True))
        elif kind == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif kind == 4:  # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        colors.update(bytes(line[i:i + bpp]) for i in range(0, stride, bpp))
        prev = line
    return width, height, len(colors)


def _assert_picture(png: Path) -> None:
    """A real screenshot: 1600x1000, not tiny, and many colours (a blank page has a handful)."""
    assert png.exists(), f"chromium wrote no {png.name}"
    width, height, colors = _png_colors(png)
    assert (width, height) == (1600, 1000), (png.name, width, height)
    assert png.stat().st_size > 20_000 and colors > 200, (png.name, png.stat().st_size, colors)


def _assert_ui_ok(dom: str, url: str) -> None:
    for error in UI_ERRORS:
        assert error not in dom, f"{url} shows {error!r}: the UI could not reach its API"


def _latest(artifacts: list, key: str):
    versions = [a for a in artifacts if a.key == key]
    assert versions, f"no artifact {key!r} in {sorted({a.key for a in artifacts})}"
    return max(versions, key=lambda a: a.created)


def test_ui_shows_task_runs_artifacts_and_logs(server, tmp_path):  # noqa: F811
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tasks.reporting import AVERAGE_RETURN, ENV_STEPS, experiment_key

    env = dict(server, TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1",
               TF_CPP_MIN_LOG_LEVEL="2")
    snapshot_dir = str(tmp_path / "ui_ppo_cartpole")
    result = subprocess.run(
        [str(BIN / "trainflow"), "train", "--env", "CartPole-v1", "--algo", "PPO", "--n-epochs",
         str(N_EPOCHS), "--batch-size", "500", "--seed", "1", "--snapshot-dir", snapshot_dir],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]

    ui = env["PREFECT_API_URL"].removesuffix("/api")
    run_name, key = "train-ui_ppo_cartpole", experiment_key(snapshot_dir)
    with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}):
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(any_=[run_name])))
        assert len(runs) == 1 and runs[0].state.is_completed(), runs
        run_id = str(runs[0].id)
        # Task runs arrive as events: wait until the server has recorded all of them.
        task_runs = prefect_api.task_runs(run_id, expected=len(PHASES) * N_EPOCHS)
        artifacts = prefect_api.artifacts(run_id)
    task_names = sorted(r.name for r in task_runs)
    assert task_names == sorted(f"{p}-{n}" for p in PHASES for n in range(N_EPOCHS))
    curve, table = _latest(artifacts, f"{key}-learning-curve"), _latest(artifacts, f"{key}-metrics")
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert [row["Epoch"] for row in rows] == list(range(N_EPOCHS))
    last = rows[-1]

    # The classic UI's run page: the run graph (a canvas) and the run's logs.
    url = f"{ui}/runs/flow-run/{run_id}"
    dom = _page(tmp_path, url, tmp_path / "flow-run-v1.png",
                [run_name, f"({N_EPOCHS} of {N_EPOCHS}) done in", "Completed"])
    _assert_ui_ok(dom, url)
    assert run_name in dom and "train-experiment" in dom
    assert f"epoch #{N_EPOCHS - 1} ({N_EPOCHS} of {N_EPOCHS}) done in" in dom  # summary log
    assert "No snapshot in" in dom  # the flow's own log line, through get_run_logger
    _assert_picture(tmp_path / "flow-run-v1.png")

    # The new UI's run page, Task Runs tab: the graph with every phase, and the task list.
    url = f"{ui}/v2/runs/flow-run/{run_id}?tab=TaskRuns"
    dom = _page(tmp_path, url, tmp_path / "prefect-flow-run.png", task_names)
    _assert_ui_ok(dom, url)
    missing = [name for name in task_names if name not in dom]
    assert not missing, f"the UI's task run list lacks {missing}"
    assert f"{len(task_names)} Task runs" in dom
    _assert_picture(tmp_path / "prefect-flow-run.png")

    # The artifacts page: the three keys, the progress bar at its last epoch.
    url = f"{ui}/v2/artifacts"
    keys = [f"{key}-{kind}" for kind in ("progress", "metrics", "learning-curve")]
    progress = f"Epoch {N_EPOCHS} of {N_EPOCHS}"
    dom = _page(tmp_path, url, tmp_path / "artifacts.png", [*keys, progress])
    _assert_ui_ok(dom, url)
    assert all(k in dom for k in keys) and progress in dom, (keys, progress)
    _assert_picture(tmp_path / "artifacts.png")

    # The learning curve's latest version: the SVG plot and the last epoch's value.
    url = f"{ui}/v2/artifacts/artifact/{curve.id}"
    latest = f"{last[AVERAGE_RETURN]:.4g}"
    dom = _page(tmp_path, url, tmp_path / "prefect-artifacts.png",
                ["data:image/svg+xml", latest])
    _assert_ui_ok(dom, url)
    assert "Learning curve" in dom and "data:image/svg+xml" in dom
    assert f"{latest} at {ENV_STEPS} {last[ENV_STEPS]:g}" in dom.replace("<strong>", "") \
        .replace("</strong>", "")
    _assert_picture(tmp_path / "prefect-artifacts.png")

    # The metrics table's latest version: one row per epoch, every metric a column.
    url = f"{ui}/v2/artifacts/artifact/{table.id}"
    dom = _page(tmp_path, url, tmp_path / "metrics.png", [AVERAGE_RETURN, str(last[ENV_STEPS])])
    _assert_ui_ok(dom, url)
    assert AVERAGE_RETURN in dom and ENV_STEPS in dom
    assert all(f">{row[ENV_STEPS]}<" in dom for row in rows), "a row is missing from the table"
    _assert_picture(tmp_path / "metrics.png")
