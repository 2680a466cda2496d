"""LocalSampler: garage's test_local_sampler.py items, batch-size rules, seeding, pickling."""

from __future__ import annotations

import pickle

import cloudpickle
import numpy as np
import pytest

from tests.trainer.samplers.helpers import ConstantPolicy, PointGoalEnv, RandomPolicy
from trainer.envs import GymEnv
from trainer.episode_batch import EpisodeBatch, StepType
from trainer.errors import ConfigError
from trainer.samplers import (
    DefaultWorker,
    LocalSampler,
    Sampler,
    VecWorker,
    WorkerFactory,
)
from trainer.samplers.env_update import NewEnvUpdate, SetTaskUpdate


def make_point_env() -> GymEnv:
    return GymEnv(PointGoalEnv(), max_episode_length=16)


def _assert_whole_episodes(batch: EpisodeBatch) -> None:
    for episode in batch.split():
        types = list(episode.step_types)
        assert types[-1] in (StepType.TERMINAL, StepType.TIMEOUT)
        assert all(t in (StepType.FIRST, StepType.MID) for t in types[:-1])


def test_update_envs_env_update() -> None:
    """garage: 8 workers, max length 16, 161 steps -> 11 episodes with differing goals."""
    env = make_point_env()
    policy = RandomPolicy(env.action_space)
    sampler = LocalSampler(policy, env, max_episode_length=16, n_workers=8, seed=0)
    goals = [(float(i), -float(i)) for i in range(8)]
    updates = [SetTaskUpdate(GymEnv, goal) for goal in goals]
    episodes = sampler.obtain_samples(0, 161, np.ones(3), env_update=updates)
    assert len(episodes.lengths) == 11 and episodes.lengths.tolist() == [16] * 11
    seen = {tuple(ep.env_infos["goal"][0]) for ep in episodes.split()}
    assert seen == set(goals)  # round robin: the first 8 episodes came from 8 workers
    assert policy.params.tolist() == [1.0, 1.0, 1.0]  # the agent update was applied
    with pytest.raises(ValueError, match="Length of list doesn't match number of workers"):
        sampler.obtain_samples(0, 10, np.ones(3), env_update=updates + [updates[0]])


def test_init_with_env_updates() -> None:
    env = make_point_env()
    sampler = LocalSampler(RandomPolicy(env.action_space), NewEnvUpdate(make_point_env),
                           max_episode_length=16, n_workers=8)
    episodes = sampler.obtain_samples(0, 160, None)
    assert episodes.lengths.sum() >= 160
    assert isinstance(sampler.workers[3].env, GymEnv)


def test_obtain_exact_episodes_grouped_in_worker_order() -> None:
    env = make_point_env()
    n_workers = 8
    agents = [ConstantPolicy([i / 100, 0.0], env.action_space) for i in range(n_workers)]
    sampler = LocalSampler(agents, env, max_episode_length=16, n_workers=n_workers)
    episodes = sampler.obtain_exact_episodes(3, None)
    assert len(episodes.lengths) == 24
    workers = [round(float(ep.actions[0, 0]) * 100) for ep in episodes.split()]
    assert workers == [i for i in range(n_workers) for _ in range(3)]
    with pytest.raises(ValueError, match="Length of list doesn't match number of workers"):
        sampler.obtain_exact_episodes(1, [np.zeros(3)] * 7)
    with pytest.raises(ConfigError, match="n_eps_per_worker=0 is not valid"):
        sampler.obtain_exact_episodes(0, None)


def test_obtain_exact_episodes_with_vec_workers_trims_to_n() -> None:
    env = GymEnv("CartPole-v1")
    sampler = LocalSampler(RandomPolicy(env.action_space), env, max_episode_length=500,
                           n_workers=2, worker_class=VecWorker, worker_args={"n_envs": 4})
    episodes = sampler.obtain_exact_episodes(5, None)
    assert len(episodes.lengths) == 10
    assert sampler.total_env_steps == episodes.lengths.sum()


def test_no_seed_and_init_without_worker_factory() -> None:
    env = GymEnv("CartPole-v1")
    policy = RandomPolicy(env.action_space)
    sampler = LocalSampler(policy, env, max_episode_length=500, seed=None)
    assert len(sampler.obtain_samples(0, 50, None).lengths) >= 1
    factory = WorkerFactory(max_episode_length=500, n_workers=2, seed=4)
    a = LocalSampler.from_worker_factory(factory, policy, env)
    b = LocalSampler(policy, env, max_episode_length=500, n_workers=2, seed=4)
    assert isinstance(a, Sampler) and a.worker_factory is factory
    assert (b.worker_factory.n_workers, b.worker_factory.seed) == (2, 4)
    with pytest.raises(TypeError, match=r"Must construct a sampler from WorkerFactory or "
                                        r"parameters \(at least max_episode_length\)"):
        LocalSampler(policy, env)


@pytest.mark.parametrize("worker_class, worker_args", [(DefaultWorker, {}),
                                                       (VecWorker, {"n_envs": 4})])
def test_obtain_samples_is_a_minimum_of_whole_episodes(worker_class, worker_args) -> None:
    env = GymEnv("CartPole-v1")
    sampler = LocalSampler(RandomPolicy(env.action_space), env, max_episode_length=500, seed=2,
                           n_workers=2, worker_class=worker_class, worker_args=worker_args)
    total = 0
    for itr, num_samples in enumerate([1, 100, 777]):
        batch = sampler.obtain_samples(itr, num_samples, None)
        n = int(batch.lengths.sum())
        assert n >= num_samples
        # overshoot is less than the last rollout's episodes (each <= 500 steps)
        assert n - num_samples < 500 * (worker_args.get("n_envs", 1))
        _assert_whole_episodes(batch)
        total += n
    assert sampler.total_env_steps == total


def test_agent_update_list_length_error() -> None:
    env = GymEnv("CartPole-v1")
    sampler = LocalSampler(RandomPolicy(env.action_space), env, max_episode_length=500,
                           n_workers=2)
    with pytest.raises(ValueError, match="Length of list doesn't match number of workers"):
        sampler.obtain_samples(0, 10, [np.zeros(3)] * 3)
    with pytest.raises(ValueError, match="Length of list doesn't match number of workers"):
        LocalSampler([RandomPolicy(env.action_space)] * 3, env, max_episode_length=500,
                     n_workers=2)
    with pytest.raises(ConfigError, match="num_samples=-1 is not valid"):
        sampler.obtain_samples(0, -1, None)


def test_envs_are_deep_copied_per_worker_and_agents_shared() -> None:
    env = GymEnv("CartPole-v1")
    policy = RandomPolicy(env.action_space)
    sampler = LocalSampler(policy, env, max_episode_length=500, n_workers=3)
    envs = [w.env for w in sampler.workers]
    assert len({id(e) for e in envs}) == 3 and env not in envs
    assert all(w.agent is policy for w in sampler.workers)


def _sample(seed: int, worker_class=DefaultWorker, worker_args=None) -> EpisodeBatch:
    env = GymEnv("CartPole-v1")
    sampler = LocalSampler(RandomPolicy(env.action_space, seed=0), env, max_episode_length=500,
                           seed=seed, n_workers=2, worker_class=worker_class,
                           worker_args=worker_args)
    return EpisodeBatch.concatenate(*[sampler.obtain_samples(i, 300, None) for i in range(2)])


@pytest.mark.parametrize("worker_class, worker_args", [(DefaultWorker, None),
                                                       (VecWorker, {"n_envs": 3})])
def test_same_seed_same_episodes_different_seed_different(worker_class, worker_args) -> None:
    a, b = _sample(7, worker_class, worker_args), _sample(7, worker_class, worker_args)
    np.testing.assert_array_equal(a.observations, b.observations)
    np.testing.assert_array_equal(a.lengths, b.lengths)
    c = _sample(8, worker_class, worker_args)
    assert not np.array_equal(a.observations[0], c.observations[0])


def _run(sampler: LocalSampler, n: int) -> list[EpisodeBatch]:
    return [sampler.obtain_samples(i, 200, None) for i in range(n)]


@pytest.mark.parametrize("dumps, loads", [(pickle.dumps, pickle.loads),
                                          (cloudpickle.dumps, cloudpickle.loads)])
def test_pickled_vec_sampler_continues_identically(dumps, loads) -> None:
    env = GymEnv("CartPole-v1")
    sampler = LocalSampler(RandomPolicy(env.action_space, seed=5), env, max_episode_length=500,
                           seed=1, n_workers=2, worker_class=VecWorker,
                           worker_args={"n_envs": 4})
    _run(sampler, 2)
    restored = loads(dumps(sampler))
    assert restored.total_env_steps == sampler.total_env_steps
    for a, b in zip(_run(sampler, 3), _run(restored, 3)):
        np.testing.assert_array_equal(a.observations, b.observations)
        np.testing.assert_array_equal(a.actions, b.actions)
        np.testing.assert_array_equal(a.rewards, b.rewards)
        np.testing.assert_array_equal(a.agent_infos["noise"], b.agent_infos["noise"])


def test_detector_rebuilt_sampler_diverges() -> None:
    """garage's resume (rebuild and re-seed the workers) does not continue the same episodes."""
    env = GymEnv("CartPole-v1")
    policy = RandomPolicy(env.action_space, seed=5)
    kwargs = dict(max_episode_length=500, seed=1, n_workers=2, worker_class=VecWorker,
                  worker_args={"n_envs": 4})
    sampler = LocalSampler(policy, env, **kwargs)
    _run(sampler, 2)
    state = pickle.dumps(policy)
    continued = _run(sampler, 1)[0]
    rebuilt = LocalSampler(pickle.loads(state), env, **kwargs)
    assert not np.array_equal(_run(rebuilt, 1)[0].observations[:50],
                              continued.observations[:50])


def test_shutdown_worker_closes_envs() -> None:
    env = GymEnv("CartPole-v1")
    sampler = LocalSampler(RandomPolicy(env.action_space), env, max_episode_length=500,
                           n_workers=2, worker_class=VecWorker, worker_args={"n_envs": 2})
    closed = []
    for worker in sampler.workers:
        for copy in worker.envs:
            copy.close = lambda: closed.append(True)
    sampler.start_worker()
    sampler.shutdown_worker()
    assert len(closed) == 4
