"""WorkerFactory: message preparation, worker construction, seed resolution."""

from __future__ import annotations

import copy
import pickle

import pytest

from trainer.errors import ConfigError
from trainer.samplers import DefaultWorker, VecWorker, WorkerFactory
from trainer.seeding import get_rng_state, set_rng_state, set_seed


@pytest.fixture
def restore_seed():
    state = get_rng_state()
    yield
    set_rng_state(state)


def test_prepare_worker_messages() -> None:
    factory = WorkerFactory(max_episode_length=10, n_workers=3)
    obj = {"a": [1]}
    same = factory.prepare_worker_messages(obj)
    assert len(same) == 3 and all(m is obj for m in same)
    copies = factory.prepare_worker_messages(obj, preprocess=copy.deepcopy)
    assert all(m == obj and m is not obj for m in copies)
    assert factory.prepare_worker_messages([1, 2, 3], preprocess=lambda x: 10 * x) == [10, 20, 30]
    with pytest.raises(ValueError, match="Length of list doesn't match number of workers: got 2"):
        factory.prepare_worker_messages([1, 2])


def test_call_builds_workers() -> None:
    factory = WorkerFactory(max_episode_length=10, n_workers=2, seed=5, worker_class=VecWorker,
                            worker_args={"n_envs": 3})
    worker = factory(1)
    assert isinstance(worker, VecWorker)
    assert worker.worker_number == 1 and worker.n_envs == 3
    with pytest.raises(ValueError, match="Worker number is too big"):
        factory(2)


def test_seed_none_resolves_at_construction(restore_seed) -> None:
    set_seed(11)
    factory = WorkerFactory(max_episode_length=10)
    set_seed(12)
    assert factory.seed == 11
    assert WorkerFactory(max_episode_length=10).seed == 12
    assert WorkerFactory(max_episode_length=10, seed=3).seed == 3


@pytest.mark.parametrize("kwargs, message", [
    ({"max_episode_length": 0}, "max_episode_length=0 is not valid"),
    ({"max_episode_length": None}, "max_episode_length=None is not valid"),
    ({"max_episode_length": 5, "n_workers": 0}, "n_workers=0 is not valid"),
    ({"max_episode_length": 5, "seed": -1}, "seed=-1 is not valid"),
    ({"max_episode_length": 5, "seed": 1.5}, "seed=1.5 is not valid"),
])
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        WorkerFactory(**kwargs)


def test_factory_pickles() -> None:
    factory = WorkerFactory(max_episode_length=7, n_workers=2, seed=1, is_tf_worker=True)
    copy_ = pickle.loads(pickle.dumps(factory))
    assert (copy_.n_workers, copy_.seed, copy_.max_episode_length) == (2, 1, 7)
    assert copy_.worker_class is DefaultWorker and copy_.is_tf_worker
