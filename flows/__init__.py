"""Prefect flows for trainflow: ``train_experiment`` and the ``trainflow`` console command.

``train_experiment`` is imported on first access, so ``flows.cli`` can configure Prefect through
environment variables before Prefect is imported.
"""

from typing import Any

__all__ = ["train_experiment"]


def __getattr__(name: str) -> Any:
    if name == "train_experiment":
        from flows.train import train_experiment

        return train_experiment
    raise AttributeError(f"module 'flows' has no attribute {name!r}")
