"""Global seeding, and capture/restore of every global random state for exact resume.

garage only remembered the seed and re-seeded on restore, so a resumed run drew different random
numbers than the run it continued. trainflow also snapshots the generators' *states*.
"""

from __future__ import annotations

import random
import sys
from typing import Any

import numpy as np

_MAX_SEED = 4294967294  # garage's modulus, kept so seeds map to the same streams.
_seed: int | None = None


def set_seed(seed: int) -> None:
    """Seed Python's ``random``, numpy's global generator and TensorFlow (if imported).

    Samplers built afterwards derive their workers' and environments' seeds from it.

    Args:
        seed: Any integer; it is reduced modulo 4294967294 like garage did.

    Raises:
        TypeError: If ``seed`` is not an integer.
    """
    global _seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed={seed!r} is not an integer; pass e.g. set_seed(1).")
    seed = int(seed) % _MAX_SEED
    _seed = seed
    random.seed(seed)
    np.random.seed(seed)
    if "tensorflow" in sys.modules:
        tf = sys.modules["tensorflow"]
        tf.compat.v1.set_random_seed(seed)
        tf.random.set_seed(seed)


def get_seed() -> int | None:
    """Return the seed last given to :func:`set_seed`, or ``None`` if none was set."""
    return _seed


def get_rng_state() -> dict[str, Any]:
    """Return the state of every global generator that trainflow snapshots.

    Generators owned by objects (policies, samplers, environments) are pickled with their owner;
    this covers the process-wide ones.
    """
    return {
        "seed": _seed,
        "python": random.getstate(),
        "numpy": np.random.get_state(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore generator states captured by :func:`get_rng_state`."""
    global _seed
    _seed = state["seed"]
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if _seed is not None and "tensorflow" in sys.modules:
        # Graph-level seeds only fix op seeds of graphs built from now on; trainflow's own TF
        # code draws randomness from numpy generators so that it can be resumed exactly.
        sys.modules["tensorflow"].compat.v1.set_random_seed(_seed)
