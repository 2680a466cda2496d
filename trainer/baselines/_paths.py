"""Input checks and stacking shared by the baselines' ``fit``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from trainer.errors import ConfigError


def stack_paths(paths: Sequence[Mapping[str, np.ndarray]],
                inputs: Callable[[Mapping[str, np.ndarray]], np.ndarray],
                dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """Check every path and stack its inputs ``(sum T, D)`` and returns ``(sum T,)``.

    Args:
        paths: Episodes, each a dict with ``"observations"`` and ``"returns"`` ``(T,)``.
        inputs: Maps one path to the baseline's ``(T, D)`` inputs (features or observations).
        dtype: The returns' dtype.

    Raises:
        ConfigError: If ``paths`` is empty, or a path has NaN/infinite values or a number of
            returns other than its number of observations.
    """
    if len(paths) == 0:
        raise ConfigError("paths is empty: fit the baseline on at least one episode.")
    xs, ys = [], []
    for i, path in enumerate(paths):
        x = inputs(path)
        y = np.asarray(path["returns"], dtype=dtype).reshape(-1)
        if len(x) != len(y):
            raise ConfigError(f"paths[{i}] has {len(x)} observations but {len(y)} returns: "
                              "give one return per step.")
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise ConfigError(f"paths[{i}] has NaN or infinite observations or returns: "
                              "check the environment's outputs and the discounting.")
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)
