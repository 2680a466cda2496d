"""Fixtures of the Prefect task tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture
def info_logs() -> Iterator[None]:
    """Prefect's and the engine's INFO lines on (the test session runs at WARNING)."""
    loggers = [logging.getLogger(name) for name in ("prefect", "trainflow")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.INFO)
    yield
    for logger, level in zip(loggers, levels):
        logger.setLevel(level)
