"""A flow algorithm builder: the registry's PPO, failing once at a chosen epoch (for retry tests).

``algo_kwargs``: ``fail_at_epoch`` (int) and ``fault_marker`` (a path written when the fault fires,
so it fires once across retries and processes); the rest go to PPO.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from flows.experiments import build_algo


def _optimize_or_fail(original: Any, fail_at_epoch: int, marker: str, trainer: Any, epoch: int,
                      episodes: Any) -> dict[str, float]:
    if epoch == fail_at_epoch and not Path(marker).exists():
        Path(marker).write_text(str(epoch))
        raise RuntimeError(f"injected fault at epoch {epoch}")
    return original(trainer, epoch, episodes)


def build(env: Any, algo_kwargs: dict[str, Any], policy_kwargs: dict[str, Any]) -> Any:
    """Build PPO as `trainflow train --algo PPO` does, with a one-time fault."""
    kwargs = dict(algo_kwargs)
    fail_at_epoch, marker = kwargs.pop("fail_at_epoch", -1), kwargs.pop("fault_marker", "")
    algo = build_algo("PPO", env, kwargs, policy_kwargs)
    algo.optimize = functools.partial(_optimize_or_fail, algo.optimize, fail_at_epoch, marker)
    return algo
