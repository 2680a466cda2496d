import math
import re

import numpy as np
import pytest

from tasks.reporting import EpochReporter, experiment_key


class TestExperimentKey:
    def test_key_is_a_valid_prefect_artifact_key(self):
        key = experiment_key("s3://bucket/Runs/PPO_CartPole v1/")
        assert re.fullmatch(r"[a-z0-9-]+", key)
        assert key.startswith("ppo-cartpole-v1-")

    def test_same_dir_name_in_different_places_gives_different_keys(self):
        assert experiment_key("/runs/a/exp") != experiment_key("/runs/b/exp")

    def test_relative_and_absolute_spellings_of_one_dir_agree(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        assert experiment_key("exp") == experiment_key(str(tmp_path / "exp") + "/")


class TestCurveMarkdown:
    def _reporter(self, rows):
        reporter = EpochReporter("exp-12345678", n_epochs=10)
        reporter.rows = rows
        return reporter

    def test_reports_latest_value_against_env_steps(self):
        md = self._reporter([
            {"Epoch": 0, "TotalEnvSteps": 100, "Evaluation/AverageReturn": 9.0},
            {"Epoch": 1, "TotalEnvSteps": 200, "Evaluation/AverageReturn": 21.5},
        ]).curve_markdown()
        assert "data:image/svg+xml;base64," in md
        assert "**21.5 at TotalEnvSteps 200**" in md and "(2 epochs)" in md

    def test_falls_back_to_epochs_when_steps_are_missing(self):
        md = self._reporter([{"Epoch": 0, "Evaluation/AverageReturn": 3.0}]).curve_markdown()
        assert "at Epoch 0" in md

    def test_no_return_metric_says_no_data(self):
        assert "no data yet" in self._reporter([{"Epoch": 0}]).curve_markdown()


@pytest.mark.parametrize("value,expected", [
    (np.float32(1.5), 1.5), (np.int64(3), 3), (float("nan"), None), (math.inf, None),
    ("text", "text"), (None, None), (np.array([1, 2]), "[1 2]"),
])
def test_metric_values_are_made_json_safe(value, expected):
    from tasks.reporting import _json_value

    assert _json_value(value) == expected


@pytest.mark.parametrize("bad", [-1, float("nan"), "10", True])
def test_a_bad_table_interval_names_the_parameter_and_the_fix(bad):
    from trainer.errors import ConfigError

    with pytest.raises(ConfigError, match=r"min_interval_s=.* is not valid: .* e\.g\. 10"):
        EpochReporter("exp-12345678", n_epochs=5, min_interval_s=bad)


def _versions(run_id: str, key: str) -> list:
    from tests.flows import prefect_api

    return sorted((a for a in prefect_api.artifacts(run_id) if a.key == key),
                  key=lambda a: a.created)


def _table_epochs(artifact) -> list[int]:
    import json

    return [row["Epoch"] for row in json.loads(artifact.data)]


@pytest.mark.prefect
def test_table_is_throttled_but_progress_moves_and_the_last_epoch_is_never_lost(prefect_harness):
    import time

    from prefect import flow
    from prefect.runtime import flow_run

    @flow
    def reporting_flow() -> str:
        throttled = EpochReporter("throttled-00000001", n_epochs=6, min_interval_s=3600)
        every = EpochReporter("every-00000001", n_epochs=6, min_interval_s=0)
        progress = []
        for epoch in range(6):
            for reporter in (throttled, every):
                reporter.report(epoch, {"Evaluation/AverageReturn": float(epoch),
                                        "TotalEnvSteps": 100 * (epoch + 1)})
            throttled.flush()
            if throttled._progress_id is not None:
                from prefect.artifacts import Artifact

                progress.append(Artifact.get("throttled-00000001-progress").data)
            time.sleep(0.05)
        assert progress == [100 * (e + 1) / 6 for e in range(6)]
        return str(flow_run.id)

    run_id = reporting_flow()
    throttled = _versions(run_id, "throttled-00000001-metrics")
    # The first epoch's table (nothing published yet), then only the final one.
    assert [_table_epochs(a) for a in throttled] == [[0], [0, 1, 2, 3, 4, 5]]
    assert len(_versions(run_id, "throttled-00000001-learning-curve")) == 2
    every = _versions(run_id, "every-00000001-metrics")
    # Versions may be coalesced by the one-slot queue, but never out of order or short.
    assert 2 <= len(every) <= 6 and _table_epochs(every[-1]) == [0, 1, 2, 3, 4, 5]
    assert [len(_table_epochs(a)) for a in every] == sorted(len(_table_epochs(a)) for a in every)


@pytest.mark.prefect
def test_close_publishes_the_rows_so_far_and_api_errors_only_warn(prefect_harness, caplog):
    from prefect import flow
    from prefect.runtime import flow_run

    @flow
    def failing_flow() -> str:
        reporter = EpochReporter("closed-00000001", n_epochs=10, min_interval_s=3600)
        for epoch in range(3):
            reporter.report(epoch, {"Evaluation/AverageReturn": 1.0})
            reporter.flush()  # epoch 0's table is out before epoch 1 is reported
        reporter.close()  # what the orchestrator does when an epoch fails
        reporter.close()  # idempotent
        broken = EpochReporter("Not A Valid Key", n_epochs=3, min_interval_s=0)
        for epoch in range(3):  # must neither raise nor hang
            broken.report(epoch, {"Evaluation/AverageReturn": 1.0})
        return str(flow_run.id)

    with caplog.at_level("WARNING", logger="trainflow.artifacts"):
        run_id = failing_flow()
    assert [_table_epochs(a) for a in _versions(run_id, "closed-00000001-metrics")] == \
        [[0], [0, 1, 2]]
    warned = [r.getMessage() for r in caplog.records if r.name == "trainflow.artifacts"]
    assert warned and all("Not A Valid Key" in m for m in warned)
