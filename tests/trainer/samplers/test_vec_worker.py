"""VecWorker's per-environment loop: batched stepping, continued episodes, equivalence to
DefaultWorkers, pickling. The native vector env path is tested in test_vec_worker_native.py."""

from __future__ import annotations

import pickle

import cloudpickle
import numpy as np
import pytest

from tests.trainer.samplers.helpers import PointGoalEnv, PoleSignPolicy, RandomPolicy
from trainer.envs import GymEnv
from trainer.episode_batch import EpisodeBatch, StepType
from trainer.errors import ConfigError
from trainer.samplers import DefaultWorker, VecWorker


class _CountingPolicy(RandomPolicy):
    def __init__(self, action_space) -> None:
        super().__init__(action_space)
        self.batch_sizes: list[int] = []

    def get_actions(self, observations):
        self.batch_sizes.append(len(observations))
        return super().get_actions(observations)


def _vec_worker(n_envs: int, policy, env, max_len: int = 500, seed: int = 1) -> VecWorker:
    worker = VecWorker(seed=seed, max_episode_length=max_len, worker_number=0, n_envs=n_envs,
                       native_vec=False)
    worker.update_agent(policy)
    worker.update_env(env)
    return worker


def test_rollout_uses_one_batched_call_per_step() -> None:
    env = GymEnv("CartPole-v1")
    policy = _CountingPolicy(env.action_space)
    worker = _vec_worker(5, policy, env)
    batch = worker.rollout()
    assert len(batch.lengths) >= 1
    assert set(policy.batch_sizes) == {5}
    # every call of get_actions was one step of each copy: the shortest episode finished last
    assert len(policy.batch_sizes) == batch.lengths.min()
    for episode in batch.split():
        assert episode.step_types[-1] in (StepType.TERMINAL, StepType.TIMEOUT)
    EpisodeBatch.concatenate(batch)  # the worker's batch passes every check


def test_unfinished_episodes_continue_across_rollouts_and_agent_updates() -> None:
    env = GymEnv("CartPole-v1")
    policy = _CountingPolicy(env.action_space)
    worker = _vec_worker(4, policy, env)
    total = 0
    for i in range(10):
        total += int(worker.rollout().lengths.sum())
        worker.update_agent(np.full(3, float(i)))  # new parameters: episodes go on
    steps_taken = 4 * len(policy.batch_sizes)
    in_progress = int((worker._step - np.array(worker._starts))[
        ~np.array(worker._needs_reset)].sum())
    assert total + in_progress == steps_taken  # no step was thrown away
    assert in_progress > 0


def test_max_episode_length_cuts_episodes() -> None:
    env = GymEnv(PointGoalEnv())
    worker = _vec_worker(3, RandomPolicy(env.action_space), env, max_len=6)
    batch = worker.rollout()
    assert batch.lengths.tolist() == [6, 6, 6]
    assert [batch.step_types[i] for i in (5, 11, 17)] == [StepType.TIMEOUT] * 3


def test_long_episodes_wrap_around_the_ring_buffer() -> None:
    env = GymEnv(PointGoalEnv())
    policy = RandomPolicy(env.action_space)
    worker = _vec_worker(2, policy, env, max_len=9)
    # make copy 1 start later so that its episodes straddle the end of the ring buffer
    worker.update_env([GymEnv(PointGoalEnv()), GymEnv(PointGoalEnv())])
    worker.step_episode()
    worker._needs_reset[1] = worker._any_reset = True
    batches = [worker.rollout() for _ in range(6)]
    for batch in batches:
        for episode in batch.split():
            obs = np.concatenate([episode.observations, episode.last_observations])
            # PointGoalEnv moves by the clipped action: observations chain through the actions
            np.testing.assert_allclose(obs[1:] - obs[:-1], np.clip(episode.actions, -.1, .1),
                                       atol=1e-6)


def test_equals_default_workers_with_the_same_seeds() -> None:
    """garage's test_vec_worker: n_envs copies give the episodes of n_envs DefaultWorkers."""
    n_envs, seed = 5, 3
    policy = PoleSignPolicy(GymEnv("CartPole-v1").action_space)
    vec = _vec_worker(n_envs, policy, GymEnv("CartPole-v1"), seed=seed)
    vec_episodes = []
    while len(vec_episodes) < n_envs:
        vec_episodes.extend(vec.rollout().split())
    default_episodes = []
    for i in range(n_envs):
        worker = DefaultWorker(seed=seed, max_episode_length=500, worker_number=i)
        worker.update_agent(policy)
        worker.update_env(GymEnv("CartPole-v1"))
        default_episodes.append(worker.rollout())
    key = lambda e: e.observations.tobytes()  # noqa: E731
    assert sorted(map(key, vec_episodes[:n_envs])) == sorted(map(key, default_episodes))


def test_env_update_list_must_have_n_envs_items() -> None:
    env = GymEnv("CartPole-v1")
    worker = _vec_worker(3, RandomPolicy(env.action_space), env)
    with pytest.raises(ValueError, match=r"exactly n_envs \(3\) environments, but received 2"):
        worker.update_env([GymEnv("CartPole-v1")] * 2)


def test_bad_n_envs() -> None:
    with pytest.raises(ConfigError, match="n_envs=0 is not valid"):
        VecWorker(seed=None, max_episode_length=5, worker_number=0, n_envs=0)


@pytest.mark.parametrize("dumps, loads", [(pickle.dumps, pickle.loads),
                                          (cloudpickle.dumps, cloudpickle.loads)])
def test_pickled_worker_continues_identically(dumps, loads) -> None:
    env = GymEnv("CartPole-v1")
    worker = _vec_worker(4, RandomPolicy(env.action_space, seed=9), env)
    for _ in range(3):
        worker.rollout()
    assert not all(worker._needs_reset)  # some episodes are mid-way
    copy = loads(dumps(worker))
    for _ in range(5):
        a, b = worker.rollout(), copy.rollout()
        np.testing.assert_array_equal(a.observations, b.observations)
        np.testing.assert_array_equal(a.actions, b.actions)
        np.testing.assert_array_equal(a.lengths, b.lengths)


def test_collect_without_a_completed_episode() -> None:
    env = GymEnv("CartPole-v1")
    worker = _vec_worker(2, RandomPolicy(env.action_space), env)
    with pytest.raises(RuntimeError, match="no episode completed"):
        worker.collect_episode()


def test_new_agent_object_restarts_episodes() -> None:
    env = GymEnv("CartPole-v1")
    worker = _vec_worker(3, RandomPolicy(env.action_space), env)
    worker.step_episode()
    fresh = RandomPolicy(env.action_space, seed=1)
    worker.update_agent(fresh)
    worker.step_episode()
    assert fresh.resets and fresh.resets[0].tolist() == [True, True, True]
