"""WorkerFactory: builds a sampler's workers and spreads updates over them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from trainer.errors import ConfigError
from trainer.samplers.default_worker import DefaultWorker
from trainer.samplers.worker import Worker
from trainer.seeding import get_seed


def _identity(obj: Any) -> Any:
    return obj


def _positive_int(name: str, value: Any, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{name}={value!r} is not valid: pass a positive integer ({example}).")
    return int(value)


class WorkerFactory:
    """Builds workers (garage's ``WorkerFactory``); picklable.

    Args:
        max_episode_length: Episodes are cut after this many steps; usually the environment's
            ``spec.max_episode_length``.
        is_tf_worker: Accepted for garage compatibility. trainflow's TF policies sample from
            numpy copies of their parameters, so workers need no TensorFlow session of their
            own and the flag changes nothing.
        seed: Seed of the workers' environments. ``None`` (default) means the seed given to
            :func:`trainer.seeding.set_seed` when the factory is built, or unseeded
            environments if none was set.
        n_workers: Number of workers (default 1).
        worker_class: The worker class (default :class:`DefaultWorker`).
        worker_args: Extra keyword arguments of ``worker_class``, e.g. ``{"n_envs": 8}`` for
            :class:`~trainer.samplers.VecWorker`.

    Raises:
        ConfigError: If ``max_episode_length`` or ``n_workers`` is not a positive integer, or
            ``seed`` is not a non-negative integer or ``None``.
    """

    def __init__(self, *, max_episode_length: int, is_tf_worker: bool = False,
                 seed: int | None = None, n_workers: int = 1,
                 worker_class: type[Worker] = DefaultWorker,
                 worker_args: dict[str, Any] | None = None) -> None:
        self._max_episode_length = _positive_int("max_episode_length", max_episode_length,
                                                 "the time limit in steps, e.g. 500")
        self.n_workers = _positive_int("n_workers", n_workers, "e.g. n_workers=1")
        if seed is None:
            seed = get_seed()
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)
                                 or seed < 0):
            raise ConfigError(f"seed={seed!r} is not valid: pass a non-negative integer, or None "
                              "to use trainer.seeding.get_seed().")
        self._seed = None if seed is None else int(seed)
        self._is_tf_worker = bool(is_tf_worker)
        self._worker_class = worker_class
        self._worker_args = dict(worker_args or {})

    @property
    def seed(self) -> int | None:
        """The seed the workers get (resolved when the factory was built)."""
        return self._seed

    @property
    def max_episode_length(self) -> int:
        """The workers' episode length limit."""
        return self._max_episode_length

    @property
    def worker_class(self) -> type[Worker]:
        """The worker class."""
        return self._worker_class

    @property
    def worker_args(self) -> dict[str, Any]:
        """The extra keyword arguments of the worker class."""
        return dict(self._worker_args)

    @property
    def is_tf_worker(self) -> bool:
        """The ``is_tf_worker`` flag (no effect; see the class docstring)."""
        return self._is_tf_worker

    def prepare_worker_messages(self, objs: Any,
                                preprocess: Callable[[Any], Any] = _identity) -> list[Any]:
        """Make one message per worker.

        Args:
            objs: A list of exactly ``n_workers`` objects (one per worker), or one object
                for all workers.
            preprocess: Applied to each message, e.g. ``copy.deepcopy`` to give every worker
                its own copy.

        Returns:
            ``n_workers`` messages.

        Raises:
            ValueError: If a list has another length than ``n_workers``.
        """
        if isinstance(objs, list):
            if len(objs) != self.n_workers:
                raise ValueError(f"Length of list doesn't match number of workers: got "
                                 f"{len(objs)} items for n_workers={self.n_workers}. Pass one "
                                 "item per worker, or a single object (not a list) for all.")
            return [preprocess(obj) for obj in objs]
        return [preprocess(objs) for _ in range(self.n_workers)]

    def __call__(self, worker_number: int) -> Worker:
        """Build worker ``worker_number``.

        Args:
            worker_number: Index of the worker, ``0 <= worker_number < n_workers``.

        Returns:
            The worker.

        Raises:
            ValueError: If ``worker_number >= n_workers``.
        """
        if worker_number >= self.n_workers:
            raise ValueError(f"Worker number is too big: {worker_number} for n_workers="
                             f"{self.n_workers}; use 0 <= worker_number < n_workers.")
        return self._worker_class(worker_number=worker_number, seed=self._seed,
                                  max_episode_length=self._max_episode_length,
                                  **self._worker_args)
