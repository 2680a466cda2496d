"""trainflow's engine: garage's Trainer API on TensorFlow 2, gymnasium, numpy 2 and fsspec.

This package never imports Prefect; ``tasks/`` and ``flows/`` orchestrate it.
"""

from trainer.envs import EnvSpec, EnvStep, GymEnv
from trainer.episode_batch import EpisodeBatch, StepType
from trainer.errors import NotAFileError, NotSetupError
from trainer.experiment import ExperimentStats, SnapshotConfig, TrainArgs
from trainer.seeding import get_seed, set_seed
from trainer.snapshots import Snapshotter
from trainer.tf_trainer import TFTrainer
from trainer.trainer import Trainer

__all__ = [
    "EnvSpec",
    "EnvStep",
    "EpisodeBatch",
    "ExperimentStats",
    "GymEnv",
    "NotAFileError",
    "NotSetupError",
    "SnapshotConfig",
    "Snapshotter",
    "StepType",
    "TFTrainer",
    "TrainArgs",
    "Trainer",
    "get_seed",
    "set_seed",
]
