"""Helpers shared by the learning benchmarks: thread pinning, deterministic evaluation, timing."""

from __future__ import annotations

import os

# One TF/BLAS thread: two threads are slower and erratic on a shared 2-core machine
# (performance-notes.md). Set before TensorFlow or numpy start their pools.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import time  # noqa: E402
from typing import Any  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402


def deterministic_action(policy: Any, space: gym.Space) -> Any:
    """Return ``act(obs)``: the policy's most probable action (categorical) or its mean.

    This is what Stable-Baselines3's ``predict(deterministic=True)`` does.

    Args:
        policy: A trainflow policy.
        space: The environment's action space (for clipping Gaussian means).
    """
    def act(obs: Any) -> Any:
        _, info = policy.get_actions(np.asarray(obs)[None])
        if "prob" in info:
            return int(np.argmax(info["prob"][0]))
        return np.clip(info["mean"][0], space.low, space.high)
    return act


def evaluate_fn(act: Any, env_id: str, n_episodes: int = 20,
                seed: int = 10_000) -> tuple[float, float]:
    """Mean and std of the undiscounted return of ``n_episodes`` episodes of ``act(obs)``.

    Args:
        act: Maps one observation to one action.
        env_id: Gymnasium id; its registered time limit applies.
        n_episodes: Episodes to run. Default 20.
        seed: Seed of the first episode's reset (then +1 per episode), the same for every
            framework compared.
    """
    env = gym.make(env_id)
    returns = []
    for i in range(n_episodes):
        obs, _ = env.reset(seed=seed + i)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(obs))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns)), float(np.std(returns))


def evaluate(policy: Any, env_id: str, n_episodes: int = 20,
             seed: int = 10_000) -> tuple[float, float]:
    """Deterministic evaluation of a trainflow policy (see :func:`evaluate_fn`)."""
    space = gym.make(env_id).action_space
    return evaluate_fn(deterministic_action(policy, space), env_id, n_episodes, seed)


class Stopwatch:
    """Wall time since construction, and the first time a condition held."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first_hit: dict[str, tuple[float, int]] = {}

    def elapsed(self) -> float:
        """Seconds since construction."""
        return time.perf_counter() - self.start

    def mark(self, name: str, condition: bool, steps: int) -> None:
        """Remember the elapsed time and ``steps`` the first time ``condition`` is true."""
        if condition and name not in self.first_hit:
            self.first_hit[name] = (self.elapsed(), steps)


class TargetReached(Exception):  # noqa: N818 (a signal, not an error)
    """Raised from the epoch seam to stop training once the evaluation target is met."""


class TargetWatcher:
    """An orchestrator (``trainer.orchestrator``) that evaluates the policy between epochs.

    After each epoch whose logged row satisfies ``eval_when``, the policy runs ``n_episodes``
    deterministic evaluation episodes (their time is excluded from the reported wall time).
    The first evaluation whose mean reaches ``target`` is recorded in :attr:`hit`; with
    ``stop`` the run then ends by raising :class:`TargetReached`.

    Args:
        policy: The policy being trained.
        env_id: Gymnasium id to evaluate on.
        target: Mean evaluation return to reach.
        eval_when: Predicate on the epoch's logged row (e.g. training return high enough).
        stop: Stop training at the first hit. Default ``True``.
        n_episodes: Evaluation episodes. Default 20.
        max_env_steps: Stop once this many environment steps were taken. Default no limit.
    """

    def __init__(self, policy: Any, env_id: str, target: float, eval_when: Any,
                 stop: bool = True, n_episodes: int = 20,
                 max_env_steps: int | None = None) -> None:
        self.max_env_steps = max_env_steps
        self.policy = policy
        self.env_id = env_id
        self.target = target
        self.eval_when = eval_when
        self.stop = stop
        self.n_episodes = n_episodes
        self.watch = Stopwatch()
        self.eval_seconds = 0.0
        self.hit: dict[str, float] | None = None
        self.last_eval: tuple[float, float] | None = None
        self.last_row: dict[str, Any] = {}
        self.epochs = 0

    def train_seconds(self) -> float:
        """Wall time since construction minus the time spent evaluating."""
        return self.watch.elapsed() - self.eval_seconds

    def run_epoch(self, epoch: int, body: Any) -> dict[str, Any]:
        """Run the epoch, then evaluate if the row asks for it."""
        row = body()
        self.last_row, self.epochs = row, epoch + 1
        if self.hit is None and self.eval_when(row):
            start = time.perf_counter()
            self.last_eval = evaluate(self.policy, self.env_id, self.n_episodes)
            self.eval_seconds += time.perf_counter() - start
            if self.last_eval[0] >= self.target:
                self.hit = {"epoch": epoch, "env_steps": int(row["TotalEnvSteps"]),
                            "wall_s": round(self.train_seconds(), 2),
                            "eval_return": self.last_eval[0]}
                if self.stop:
                    raise TargetReached
        if self.max_env_steps is not None and row["TotalEnvSteps"] >= self.max_env_steps:
            raise TargetReached  # The budget is spent; run_to_target reports a miss.
        return row

    def run_phase(self, phase: str, epoch: int, fn: Any) -> Any:
        """Run the phase unchanged."""
        return fn()


def run_to_target(trainer: Any, watcher: TargetWatcher, n_epochs: int,
                  batch_size: int) -> dict[str, Any]:
    """Train until ``watcher`` records its target or ``n_epochs`` end; return a summary.

    Args:
        trainer: A set-up trainer.
        watcher: The :class:`TargetWatcher` (installed as ``trainer.orchestrator`` here).
        n_epochs: Epoch budget.
        batch_size: Environment steps per epoch.
    """
    trainer.orchestrator = watcher
    try:
        trainer.train(n_epochs=n_epochs, batch_size=batch_size)
    except TargetReached:
        pass
    stopped_at_hit = watcher.hit is not None and watcher.stop
    final = watcher.last_eval if stopped_at_hit else evaluate(watcher.policy, watcher.env_id,
                                                               watcher.n_episodes)
    return {
        "reached": watcher.hit is not None,
        "hit": watcher.hit,
        "epochs": watcher.epochs,
        "env_steps": trainer.total_env_steps,
        "train_wall_s": round(watcher.train_seconds(), 2),
        "final_eval_mean": round(final[0], 1),
        "final_eval_std": round(final[1], 1),
        "last_train_return": watcher.last_row.get("Evaluation/AverageReturn"),
    }
