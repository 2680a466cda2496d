"""Samplers and workers: LocalSampler, WorkerFactory, DefaultWorker, VecWorker, env updates."""

from trainer.samplers.default_worker import DefaultWorker
from trainer.samplers.env_update import (
    EnvUpdate,
    ExistingEnvUpdate,
    NewEnvUpdate,
    SetTaskUpdate,
)
from trainer.samplers.local_sampler import LocalSampler
from trainer.samplers.sampler import Sampler
from trainer.samplers.vec_worker import VecWorker
from trainer.samplers.worker import Worker
from trainer.samplers.worker_factory import WorkerFactory

__all__ = [
    "DefaultWorker",
    "EnvUpdate",
    "ExistingEnvUpdate",
    "LocalSampler",
    "NewEnvUpdate",
    "Sampler",
    "SetTaskUpdate",
    "VecWorker",
    "Worker",
    "WorkerFactory",
]
