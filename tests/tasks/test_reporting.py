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
