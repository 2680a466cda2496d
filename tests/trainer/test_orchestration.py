"""Orchestrator discovery: entry points are consulted only when their framework is imported."""

from __future__ import annotations

import subprocess
import sys

from trainer.orchestration import InlineOrchestrator, Orchestrator, discover_orchestrator


def test_inline_orchestrator_calls_functions():
    orchestrator = InlineOrchestrator()
    assert isinstance(orchestrator, Orchestrator)
    assert orchestrator.run_epoch(0, lambda: {"a": 1}) == {"a": 1}
    assert orchestrator.run_phase("sample", 0, lambda: 5) == 5


def test_outside_a_flow_run_no_orchestrator_is_found():
    assert discover_orchestrator(trainer=None) is None


def test_importing_the_engine_does_not_import_prefect():
    code = "import trainer, trainer.samplers, sys; assert 'prefect' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
