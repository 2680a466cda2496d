"""Shared helpers for the algorithm tests: a trainer in a temporary directory, CSV rows."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from trainer import SnapshotConfig, TFTrainer, set_seed


@pytest.fixture
def tf_trainer(tmp_path: Path) -> Iterator[TFTrainer]:
    """A seeded TFTrainer whose session is the default for the test."""
    set_seed(1)
    with TFTrainer(SnapshotConfig(str(tmp_path / "exp"))) as trainer:
        yield trainer


def progress_rows(trainer: TFTrainer) -> list[dict[str, str]]:
    """The rows of the trainer's progress.csv."""
    trainer.logger.flush()
    with open(Path(trainer.snapshot_dir) / "progress.csv", newline="") as f:
        return list(csv.DictReader(f))


EVALUATION_KEYS = {
    "Evaluation/Iteration", "Evaluation/NumEpisodes", "Evaluation/AverageDiscountedReturn",
    "Evaluation/AverageReturn", "Evaluation/StdReturn", "Evaluation/MaxReturn",
    "Evaluation/MinReturn", "Evaluation/TerminationRate", "Extras/EpisodeRewardMean",
    "TotalEnvSteps",
}
