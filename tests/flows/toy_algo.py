"""A small numpy algorithm for pipeline tests: random search on a linear CartPole policy.

It follows the engine's algorithm contract (``train`` -> ``trainer.run_epochs``, ``sample``,
``optimize``) without TensorFlow, so flow tests stay fast. ``build`` is an
``flows.experiments.AlgoBuilder``; pass ``algo="tests.flows.toy_algo:build"`` to the flow or CLI.

Test hooks (all JSON-friendly ``algo_kwargs``):
    fail_at_epoch / fault_marker: raise once in ``optimize`` of that epoch; the marker file
        records that the fault fired, so the retried attempt passes.
    sleep_s: sleep this long in every ``optimize`` (gives kill tests a window).
    progress_file: append ``"<epoch> <pid>"`` lines after every ``optimize`` (progress, and the
        process to kill).
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np


class LinearHillClimb:
    """Random search on a linear policy ``action = int(obs @ w > 0)`` for CartPole."""

    def __init__(self, env: Any, noise: float = 0.5, fail_at_epoch: int | None = None,
                 fault_marker: str | None = None, sleep_s: float = 0.0,
                 progress_file: str | None = None) -> None:
        self.env = env
        self.noise = noise
        self.w = np.zeros(env.spec.observation_space.shape[0])
        self.best = -np.inf
        self.rng = np.random.default_rng(0)
        self.fail_at_epoch = fail_at_epoch
        self.fault_marker = fault_marker
        self.sleep_s = sleep_s
        self.progress_file = progress_file
        self._sampler = None
        self.optimize_calls: list[int] = []

    def train(self, trainer: Any) -> float | None:
        return trainer.run_epochs(self)

    def _episode(self, w: np.ndarray) -> tuple[float, int]:
        obs, _ = self.env.reset(seed=int(self.rng.integers(2**31)))
        total, steps = 0.0, 0
        while True:
            step = self.env.step(int(obs @ w > 0))
            total, steps, obs = total + step.reward, steps + 1, step.observation
            if step.last:
                return total, steps

    def sample(self, trainer: Any, epoch: int) -> dict[str, Any]:
        candidate = self.w + self.noise * self.rng.standard_normal(self.w.shape)
        returns, steps = [], 0
        while steps < trainer.train_args.batch_size:
            ret, length = self._episode(candidate)
            returns.append(ret)
            steps += length
        trainer.total_env_steps += steps
        return {"candidate": candidate, "returns": returns, "steps": steps}

    def optimize(self, trainer: Any, epoch: int, episodes: dict[str, Any]) -> dict[str, float]:
        self.optimize_calls.append(epoch)
        if epoch == self.fail_at_epoch and self.fault_marker \
                and not os.path.exists(self.fault_marker):
            with open(self.fault_marker, "w") as marker:
                marker.write(str(epoch))
            raise RuntimeError(f"injected fault in optimize of epoch {epoch}")
        if self.sleep_s:
            time.sleep(self.sleep_s)
        mean = float(np.mean(episodes["returns"]))
        if mean >= self.best:
            self.w, self.best = episodes["candidate"], mean
        if self.progress_file:
            with open(self.progress_file, "a") as progress:
                progress.write(f"{epoch} {os.getpid()}\n")
        return {"Evaluation/AverageReturn": mean, "Evaluation/BestReturn": float(self.best),
                "EpochEnvSteps": episodes["steps"]}


def build(env: Any, algo_kwargs: dict[str, Any], policy_kwargs: dict[str, Any]) -> LinearHillClimb:
    """``flows.experiments.AlgoBuilder`` for :class:`LinearHillClimb` (no policy kwargs)."""
    return LinearHillClimb(env, **algo_kwargs)
