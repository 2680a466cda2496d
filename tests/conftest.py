"""Test-wide settings: one TensorFlow thread, quiet logs, shared fixtures."""

from __future__ import annotations

import os

# Two TF threads on this shared 2-core machine are slower and erratic (performance-notes.md).
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

pytest_plugins = [
    "tests.fixtures.prefect",
    "tests.fixtures.s3",
]
