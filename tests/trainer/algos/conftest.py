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
    "Evaluation/Iteration",
    "Evaluation/NumEpisodes",
    "Evaluation/AverageDiscountedReturn",
    "Evaluation/AverageReturn",
    "Evaluation/StdReturn",
    "Evaluation/MaxReturn",
    "Evaluation/MinReturn",
    "Evaluation/TerminationRate",
    "Extras/EpisodeRewardMean",
    "TotalEnvSteps",
}


def cartpole_parts(hidden_sizes: tuple[int, ...] = (8, 8), vec: bool = False):
    """GymEnv CartPole-v1, a CategoricalMLPPolicy, a LinearFeatureBaseline and a LocalSampler."""
    from trainer import GymEnv
    from trainer.baselines import LinearFeatureBaseline
    from trainer.policies import CategoricalMLPPolicy
    from trainer.samplers import LocalSampler, VecWorker

    env = GymEnv("CartPole-v1")
    policy = CategoricalMLPPolicy(env.spec, hidden_sizes=hidden_sizes)
    extra = {"worker_class": VecWorker, "worker_args": {"n_envs": 4}} if vec else {}
    sampler = LocalSampler(agents=policy, envs=env, max_episode_length=500, **extra)
    return env, policy, LinearFeatureBaseline(env.spec), sampler


def pendulum_parts(hidden_sizes: tuple[int, ...] = (8, 8)):
    """GymEnv Pendulum-v1, a GaussianMLPPolicy, a GaussianMLPBaseline and a LocalSampler."""
    from trainer import GymEnv
    from trainer.baselines import GaussianMLPBaseline
    from trainer.policies import GaussianMLPPolicy
    from trainer.samplers import LocalSampler

    env = GymEnv("Pendulum-v1")
    policy = GaussianMLPPolicy(env.spec, hidden_sizes=hidden_sizes)
    baseline = GaussianMLPBaseline(env.spec, hidden_sizes=(8,))
    sampler = LocalSampler(agents=policy, envs=env, max_episode_length=200)
    return env, policy, baseline, sampler


def policy_keys(name: str) -> set[str]:
    """garage's per-epoch policy diagnostics."""
    return {
        f"{name}/{k}"
        for k in ("LossBefore", "LossAfter", "dLoss", "KLBefore", "KL", "Entropy", "Perplexity")
    }
