"""DefaultWorker: rollouts, update rules, seeding."""

from __future__ import annotations

import numpy as np
import pytest

from tests.trainer.samplers.helpers import PointGoalEnv, RandomPolicy
from trainer.envs import GymEnv
from trainer.episode_batch import StepType
from trainer.samplers import DefaultWorker
from trainer.samplers.env_update import NewEnvUpdate


def _worker(env: GymEnv, max_len: int = 500, seed: int | None = 1) -> DefaultWorker:
    worker = DefaultWorker(seed=seed, max_episode_length=max_len, worker_number=0)
    worker.update_agent(RandomPolicy(env.action_space, seed=0))
    worker.update_env(env)
    return worker


def test_rollout_returns_one_whole_episode_with_the_true_last_observation() -> None:
    env = GymEnv("CartPole-v1")
    batch = _worker(env).rollout()
    assert len(batch.lengths) == 1 and batch.lengths[0] == len(batch.rewards)
    assert batch.step_types[-1] is StepType.TERMINAL
    assert set(batch.step_types[1:-1]) <= {StepType.MID}
    # Replay the actions in a copy seeded the same way: the recorded last observation is the
    # one after the last action (garage recorded the one before it on TERMINAL steps).
    replay = GymEnv("CartPole-v1")
    replay.seed(_seed_of_worker(0, 1))
    obs, _ = replay.reset()
    np.testing.assert_array_equal(obs, batch.observations[0])
    for action in batch.actions:
        step = replay.step(int(action))
    np.testing.assert_array_equal(step.observation, batch.last_observations[0])
    assert set(batch.agent_infos) == {"noise"}
    assert set(batch.env_infos) == {"TimeLimit.truncated", "GymEnv.TimeLimitTerminated"}


def _seed_of_worker(env_index: int, seed: int) -> int:
    from trainer.samplers.worker import derive_env_seed
    return derive_env_seed(seed, env_index, 0)


def test_worker_max_episode_length_cuts_with_timeout() -> None:
    batch = _worker(GymEnv(PointGoalEnv()), max_len=7).rollout()
    assert batch.lengths.tolist() == [7]
    assert batch.step_types[-1] is StepType.TIMEOUT
    assert batch.step_types[0] is StepType.FIRST


def test_update_agent_rules() -> None:
    env = GymEnv("CartPole-v1")
    worker = _worker(env)
    agent = worker.agent
    worker.update_agent(np.array([1.0, 2.0, 3.0]))
    assert worker.agent is agent and agent.params.tolist() == [1.0, 2.0, 3.0]
    worker.update_agent(None)
    assert worker.agent is agent
    other = RandomPolicy(env.action_space)
    worker.update_agent(other)
    assert worker.agent is other


def test_update_env_rules() -> None:
    worker = _worker(GymEnv("CartPole-v1"))
    old = worker.env
    closed = []
    old.close = lambda: closed.append(True)
    new = GymEnv("CartPole-v1")
    worker.update_env(new)
    assert worker.env is new and closed == [True]
    worker.update_env(None)
    assert worker.env is new
    made = GymEnv(PointGoalEnv())
    worker.update_env(NewEnvUpdate(lambda: made))
    assert worker.env is made
    with pytest.raises(TypeError, match="Unknown environment update type."):
        worker.update_env(3)


def test_worker_without_env_says_what_is_missing() -> None:
    worker = DefaultWorker(seed=None, max_episode_length=5, worker_number=2)
    worker.update_agent(RandomPolicy(GymEnv("CartPole-v1").action_space))
    with pytest.raises(RuntimeError, match="worker 2 has no environment"):
        worker.rollout()


def test_seeded_workers_repeat_and_differ() -> None:
    def episodes(seed: int) -> list[np.ndarray]:
        worker = _worker(GymEnv("CartPole-v1"), seed=seed)
        return [worker.rollout().observations for _ in range(3)]

    for a, b in zip(episodes(4), episodes(4)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(episodes(4)[0][0], episodes(5)[0][0])


def test_collect_without_a_completed_episode() -> None:
    worker = _worker(GymEnv("CartPole-v1"))
    with pytest.raises(RuntimeError, match="no episode completed"):
        worker.collect_episode()


def test_pickled_worker_continues_identically() -> None:
    import pickle

    worker = _worker(GymEnv("CartPole-v1"), seed=2)
    worker.rollout()
    copy = pickle.loads(pickle.dumps(worker))
    for _ in range(3):
        a, b = worker.rollout(), copy.rollout()
        np.testing.assert_array_equal(a.observations, b.observations)
        np.testing.assert_array_equal(a.actions, b.actions)
