"""VecWorker's native vector env path: path choice, EpisodeBatch semantics, autoreset, seeding,
exact resume after pickling, environment updates."""

from __future__ import annotations

import pickle

import cloudpickle
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleEnv, CartPoleVectorEnv
from gymnasium.vector import AutoresetMode

from tests.trainer.samplers.helpers import PointGoalEnv, PoleSignPolicy, RandomPolicy
from trainer.envs import GymEnv
from trainer.episode_batch import EpisodeBatch, StepType
from trainer.errors import ConfigError
from trainer.samplers import LocalSampler, NewEnvUpdate, VecWorker

_SAME_STEP_ID = "trainflow-test/SameStepCartPole-v0"


class _SameStepCartPoleVectorEnv(CartPoleVectorEnv):
    """CartPole's vector env declaring gymnasium's SAME_STEP autoreset (not supported)."""

    metadata = {**CartPoleVectorEnv.metadata, "autoreset_mode": AutoresetMode.SAME_STEP}


class _InfoCartPoleEnv(CartPoleEnv):
    """CartPole whose info reports the cart position after the step."""

    def step(self, action):
        obs, reward, terminated, truncated, _ = super().step(action)
        return obs, reward, terminated, truncated, {"x": np.float32(obs[0])}


class _InfoCartPoleVectorEnv(CartPoleVectorEnv):
    """The same as a vector env: gymnasium's vector info layout (values and a "_x" mask)."""

    def step(self, action):
        obs, reward, terminated, truncated, _ = super().step(action)
        return obs, reward, terminated, truncated, {"x": obs[:, 0].copy(),
                                                    "_x": np.ones(self.num_envs, dtype=bool)}


_INFO_ID = "trainflow-test/InfoCartPole-v0"
if _INFO_ID not in gym.registry:
    gym.register(_INFO_ID, entry_point=_InfoCartPoleEnv, max_episode_steps=500,
                 vector_entry_point=_InfoCartPoleVectorEnv)
if _SAME_STEP_ID not in gym.registry:
    gym.register(_SAME_STEP_ID, entry_point=CartPoleEnv, max_episode_steps=500,
                 vector_entry_point=_SameStepCartPoleVectorEnv)


class _CountingPolicy(RandomPolicy):
    """RandomPolicy that records the batch size of every get_actions call."""

    def __init__(self, action_space, seed: int = 0) -> None:
        super().__init__(action_space, seed)
        self.calls = 0

    def get_actions(self, observations):
        self.calls += 1
        return super().get_actions(observations)


def _worker(env=None, *, n_envs: int = 4, policy=None, max_len: int = 500, seed: int | None = 1,
            worker_number: int = 0, native_vec: bool = True) -> VecWorker:
    env = GymEnv("CartPole-v1") if env is None else env
    space = (env[0] if isinstance(env, list) else env).action_space
    worker = VecWorker(seed=seed, max_episode_length=max_len, worker_number=worker_number,
                       n_envs=n_envs, native_vec=native_vec)
    worker.update_agent(RandomPolicy(space) if policy is None else policy)
    worker.update_env(env)
    return worker


def _rollouts(worker: VecWorker, n: int) -> list[EpisodeBatch]:
    return [worker.rollout() for _ in range(n)]


def _assert_same_batches(a: list[EpisodeBatch], b: list[EpisodeBatch]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        for field in ("observations", "last_observations", "actions", "rewards", "lengths",
                      "step_types"):
            np.testing.assert_array_equal(getattr(x, field), getattr(y, field), err_msg=field)
        for infos in ("env_infos", "agent_infos"):
            assert getattr(x, infos).keys() == getattr(y, infos).keys()
            for key in getattr(x, infos):
                np.testing.assert_array_equal(getattr(x, infos)[key], getattr(y, infos)[key])


def _replay(episode: EpisodeBatch) -> np.ndarray:
    """Step a scalar CartPoleEnv from the episode's first observation with its actions."""
    env = CartPoleEnv()
    env.reset(seed=0)
    env.state = episode.observations[0].astype(np.float64)
    return np.array([env.step(int(a))[0] for a in episode.actions])


# ------------------------------------------------------------------------------ path choice

def test_cartpole_copies_are_stepped_as_one_native_vector_env() -> None:
    worker = _worker(n_envs=8)
    assert worker.uses_native_vec
    venv = worker.native_vec_env
    assert isinstance(venv, CartPoleVectorEnv)
    assert venv.num_envs == 8
    assert venv.max_episode_steps == 500
    policy = _CountingPolicy(worker.envs[0].action_space)
    worker.update_agent(policy)
    batch = worker.rollout()
    # one batched call per vector step; the first episode to end is the shortest
    assert policy.calls == batch.lengths.min()
    # the per-env GymEnvs were never stepped: the vector env did the work
    assert all(env._step_cnt is None for env in worker.envs)


def _wrapped_cartpole() -> GymEnv:
    return GymEnv(gym.wrappers.TransformReward(gym.make("CartPole-v1"), lambda r: 2.0 * r))


class _SubclassedGymEnv(GymEnv):
    pass


@pytest.mark.parametrize("make_envs, why", [
    (lambda: GymEnv(PointGoalEnv()), "no gym spec"),
    (lambda: GymEnv("Pendulum-v1"), "no vector_entry_point"),
    (_wrapped_cartpole, "extra wrapper"),
    (lambda: _SubclassedGymEnv("CartPole-v1"), "GymEnv subclass"),
    (lambda: GymEnv(gym.make("CartPole-v1", render_mode="rgb_array")), "renders"),
    (lambda: [GymEnv("CartPole-v1"), GymEnv("CartPole-v0")], "different ids"),
    (lambda: [GymEnv("CartPole-v1"), GymEnv("CartPole-v1", max_episode_length=100)],
     "different time limits"),
    (lambda: [GymEnv("CartPole-v1"), GymEnv(gym.make("CartPole-v1", sutton_barto_reward=True))],
     "different kwargs"),
    (lambda: GymEnv(_SAME_STEP_ID), "SAME_STEP autoreset"),
])
def test_other_environments_use_the_per_env_loop(make_envs, why) -> None:
    envs = make_envs()
    worker = _worker(envs, n_envs=2)
    assert not worker.uses_native_vec, why
    assert worker.native_vec_env is None
    batch = worker.rollout()
    EpisodeBatch.concatenate(batch)  # the loop still samples valid episodes
    if why == "extra wrapper":
        assert set(batch.rewards.tolist()) == {2.0}  # the wrapper is in effect


def test_native_vec_false_keeps_the_loop() -> None:
    assert not _worker(native_vec=False).uses_native_vec


def test_native_vec_must_be_a_bool() -> None:
    with pytest.raises(ConfigError, match="native_vec='yes' is not valid"):
        VecWorker(seed=None, max_episode_length=5, worker_number=0, native_vec="yes")


def test_registered_kwargs_reach_the_vector_env() -> None:
    env = GymEnv(gym.make("CartPole-v1", sutton_barto_reward=True))
    worker = _worker(env, n_envs=2)
    assert worker.uses_native_vec
    batch = worker.rollout()
    # Sutton and Barto's reward: 0 per step, -1 on the terminal step
    terminal = batch.step_types == StepType.TERMINAL
    assert terminal.any()
    assert set(batch.rewards[terminal].tolist()) == {-1.0}
    assert set(batch.rewards[~terminal].tolist()) == {0.0}


# ---------------------------------------------------------------------- EpisodeBatch semantics

def test_batches_are_valid_whole_episodes_with_the_loops_fields() -> None:
    native, loop = _worker(), _worker(native_vec=False)
    a, b = native.rollout(), loop.rollout()
    EpisodeBatch.concatenate(a)  # every EpisodeBatch check passes
    assert a.env_infos.keys() == b.env_infos.keys()
    assert a.agent_infos.keys() == b.agent_infos.keys()
    assert a.episode_infos_by_episode.keys() == b.episode_infos_by_episode.keys()
    for field in ("observations", "last_observations", "actions", "rewards", "step_types",
                  "lengths"):
        assert getattr(a, field).dtype == getattr(b, field).dtype, field
    for key in a.env_infos:
        assert a.env_infos[key].dtype == b.env_infos[key].dtype


def test_step_types_and_autoreset_steps() -> None:
    worker = _worker(n_envs=4)
    episodes = [e for batch in _rollouts(worker, 30) for e in batch.split()]
    assert len(episodes) >= 30
    for episode in episodes:
        types = episode.step_types.tolist()
        assert all(isinstance(t, StepType) for t in types)
        assert types[-1] is StepType.TERMINAL  # random CartPole episodes fall over early
        assert types[0] is StepType.FIRST or len(types) == 1
        assert all(t is StepType.MID for t in types[1:-1])
        # The episode starts at a reset state: gymnasium's autoreset step, whose observation is
        # the reset one and whose action is ignored, is not recorded as a transition.
        assert np.all(np.abs(episode.observations[0]) <= 0.05)
        # the last observation is the terminal state, not the next episode's reset state
        x, theta = episode.last_observations[0, 0], episode.last_observations[0, 2]
        assert abs(x) > 2.4 or abs(theta) > 12 * 2 * np.pi / 360
        # observations and actions line up: replaying the actions gives the observations
        obs = np.concatenate([episode.observations, episode.last_observations])
        np.testing.assert_allclose(_replay(episode), obs[1:], atol=1e-5)
        assert set(episode.rewards.tolist()) == {1.0}
        assert not episode.env_infos["TimeLimit.truncated"].any()


def test_vector_env_infos_are_recorded_per_step() -> None:
    native, loop = _worker(GymEnv(_INFO_ID)), _worker(GymEnv(_INFO_ID), native_vec=False)
    assert native.uses_native_vec and not loop.uses_native_vec
    batches = _rollouts(native, 10)
    assert batches[0].env_infos.keys() == loop.rollout().env_infos.keys()
    for batch in batches:
        for episode in batch.split():
            # the info of each step belongs to that step: the cart position it led to
            obs = np.concatenate([episode.observations, episode.last_observations])
            np.testing.assert_array_equal(episode.env_infos["x"], obs[1:, 0])


@pytest.mark.parametrize("env_limit, worker_limit, flag", [
    (None, 12, False),  # cut by the worker only: GymEnv's flags stay False (as in the loop)
    (12, 500, True),    # the environment's own time limit
    (12, 12, True),
])
def test_time_limits_end_episodes_with_timeout(env_limit, worker_limit, flag) -> None:
    flags = {}
    for native in (True, False):
        env = GymEnv("CartPole-v1", max_episode_length=env_limit)
        worker = _worker(env, n_envs=3, policy=PoleSignPolicy(env.action_space),
                         max_len=worker_limit, native_vec=native)
        assert worker.uses_native_vec is native
        batches = _rollouts(worker, 8)  # several rounds: episodes wrap around the ring buffer
        for batch in batches:
            EpisodeBatch.concatenate(batch)
            for episode in batch.split():
                assert len(episode.lengths) == 1 and episode.lengths[0] == 12
                assert episode.step_types[-1] is StepType.TIMEOUT
                assert episode.step_types[0] is StepType.FIRST
                if native:
                    obs = np.concatenate([episode.observations, episode.last_observations])
                    np.testing.assert_allclose(_replay(episode), obs[1:], atol=1e-5)
        flags[native] = np.concatenate([b.env_infos["TimeLimit.truncated"] for b in batches])
        timeouts = np.concatenate([b.step_types for b in batches]) == StepType.TIMEOUT
        assert flags[native][timeouts].tolist() == [flag] * int(timeouts.sum())
        assert not flags[native][~timeouts].any()
    assert flags[True].shape == flags[False].shape


def test_unfinished_episodes_continue_across_rollouts_and_parameter_updates() -> None:
    env = GymEnv("CartPole-v1")
    policy = _CountingPolicy(env.action_space)
    worker = _worker(env, policy=policy)
    recorded = completed = 0
    for i in range(15):
        batch = worker.rollout()
        recorded += int(batch.lengths.sum())
        completed += len(batch.lengths)
        worker.update_agent(np.full(3, float(i)))  # new parameters: episodes go on
    native = worker._native
    in_progress = int(native.in_progress().sum())
    resetting = int(native._resetting.sum())
    assert in_progress > 0
    # Every copy's every vector step is a recorded step, a step of a running episode, or one
    # autoreset step after each completed episode (but the ones still to come): nothing is
    # thrown away and nothing is recorded twice.
    assert recorded + in_progress + completed - resetting == 4 * policy.calls


def test_new_agent_object_restarts_every_copy() -> None:
    worker = _worker()
    for _ in range(3):
        worker.rollout()
    fresh = RandomPolicy(worker.envs[0].action_space, seed=5)
    worker.update_agent(fresh)
    steps_before = worker._native._step
    batch = worker.rollout()
    assert fresh.resets[0].tolist() == [True] * 4
    # every episode in the batch began at the restart
    assert batch.lengths.max() == worker._native._step - steps_before
    for episode in batch.split():
        assert np.all(np.abs(episode.observations[0]) <= 0.05)


def test_agent_reset_marks_the_copies_that_begin_an_episode() -> None:
    worker = _worker(n_envs=4)
    policy = worker.agent
    first = worker.rollout()
    assert policy.resets[0].tolist() == [True] * 4  # the first reset starts every copy
    worker.rollout()
    # after the autoreset step, reset() names exactly the copies whose episodes ended
    assert len(policy.resets) >= 2
    assert int(np.sum(policy.resets[1])) == len(first.lengths)


# ---------------------------------------------------------------------------------- seeding

def test_same_seed_same_episodes_other_seed_other_episodes() -> None:
    a = _rollouts(_worker(seed=7), 6)
    b = _rollouts(_worker(seed=7), 6)
    _assert_same_batches(a, b)
    c = _rollouts(_worker(seed=8), 6)
    d = _rollouts(_worker(seed=7, worker_number=1), 6)
    first_obs = a[0].observations[0]
    assert not np.array_equal(first_obs, c[0].observations[0])
    assert not np.array_equal(first_obs, d[0].observations[0])


# ------------------------------------------------------------------------------ exact resume

@pytest.mark.parametrize("dumps, loads", [(pickle.dumps, pickle.loads),
                                          (cloudpickle.dumps, cloudpickle.loads)])
def test_pickled_worker_continues_bit_identically(dumps, loads) -> None:
    worker = _worker(n_envs=8, policy=RandomPolicy(gym.spaces.Discrete(2), seed=9))
    for _ in range(5):
        worker.rollout()
    native = worker._native
    assert native.in_progress().any()  # some episodes are mid-way...
    assert native._any_resetting  # ...and some copies are due for gymnasium's autoreset step
    restored = loads(dumps(worker))
    assert restored.uses_native_vec
    _assert_same_batches(_rollouts(worker, 20), _rollouts(restored, 20))


def test_pickled_sampler_continues_bit_identically() -> None:
    env = GymEnv("CartPole-v1")
    policy = RandomPolicy(env.action_space, seed=3)
    sampler = LocalSampler(policy, env, max_episode_length=500, seed=4, n_workers=2,
                           worker_class=VecWorker, worker_args={"n_envs": 8})
    assert all(w.uses_native_vec for w in sampler.workers)
    sampler.obtain_samples(0, 300, None)
    restored = cloudpickle.loads(cloudpickle.dumps(sampler))
    for itr in range(1, 4):
        a = sampler.obtain_samples(itr, 500, None)
        b = restored.obtain_samples(itr, 500, None)
        _assert_same_batches([a], [b])


# ------------------------------------------------------------------------ environment updates

def test_env_updates_rebuild_or_fall_back() -> None:
    worker = _worker()
    worker.rollout()
    old_venv = worker.native_vec_env
    worker.update_env(GymEnv("CartPole-v1"))  # new objects: a new vector env, fresh episodes
    assert worker.uses_native_vec and worker.native_vec_env is not old_venv
    batch = worker.rollout()
    for episode in batch.split():
        assert np.all(np.abs(episode.observations[0]) <= 0.05)
    # an EnvUpdate works the same way
    worker.update_env(NewEnvUpdate(lambda: GymEnv("CartPole-v1", max_episode_length=20)))
    assert worker.uses_native_vec and worker.native_vec_env.max_episode_steps == 20
    assert worker.rollout().lengths.max() <= 20
    # environments without a native vector env: back to the loop, which starts afresh
    point = GymEnv(PointGoalEnv())
    worker.update_agent(RandomPolicy(point.action_space))
    worker.update_env(point)
    assert not worker.uses_native_vec
    batch = worker.rollout()
    assert batch.observations.shape[1:] == (2,)
    EpisodeBatch.concatenate(batch)
    # and back to the native path
    worker.update_agent(RandomPolicy(gym.spaces.Discrete(2)))
    worker.update_env([GymEnv("CartPole-v1") for _ in range(4)])
    assert worker.uses_native_vec
    EpisodeBatch.concatenate(worker.rollout())
    worker.update_env(None)  # no update: the vector env and its episodes are kept
    assert worker.uses_native_vec


def test_shutdown_closes_the_vector_env(monkeypatch) -> None:
    worker = _worker()
    worker.rollout()
    closed = []
    monkeypatch.setattr(worker.native_vec_env, "close", lambda: closed.append(True))
    worker.shutdown()
    assert closed == [True]


# ------------------------------------------------------------------------- built-in policy

def test_builtin_categorical_policy_on_the_native_path() -> None:
    tf = pytest.importorskip("tensorflow")
    from trainer.policies import CategoricalMLPPolicy

    env = GymEnv("CartPole-v1")
    with tf.compat.v1.Session(graph=tf.Graph()) as session, session.graph.as_default():
        policy = CategoricalMLPPolicy(env.spec, hidden_sizes=(8, 8))
        session.run(tf.compat.v1.global_variables_initializer())
        sampler = LocalSampler(policy, env, max_episode_length=500, seed=1,
                               worker_class=VecWorker, worker_args={"n_envs": 8})
        assert sampler.workers[0].uses_native_vec
        episodes = sampler.obtain_samples(0, 2000, policy.get_param_values())
    assert episodes.lengths.sum() >= 2000
    np.testing.assert_allclose(episodes.agent_infos["prob"].sum(axis=1), 1.0, rtol=1e-5)
    assert set(np.unique(episodes.actions).tolist()) == {0, 1}
