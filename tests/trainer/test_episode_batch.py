"""EpisodeBatch and StepType: garage's test_dtypes.py items, adapted, plus round trips."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest

from trainer.envs import EnvSpec
from trainer.episode_batch import EpisodeBatch, StepType, step_types_array

LENGTHS = [10, 20, 7, 25, 25, 40, 10, 5]


@pytest.fixture
def eps_data() -> dict:
    obs_space = gym.spaces.Box(low=1, high=np.inf, shape=(4, 3, 2), dtype=np.float32)
    act_space = gym.spaces.MultiDiscrete([2, 5])
    env_spec = EnvSpec(obs_space, act_space, max_episode_length=100)
    lens = np.array(LENGTHS)
    n_t = int(lens.sum())
    rng = np.random.default_rng(0)
    obs = (1 + rng.random((n_t, 4, 3, 2))).astype(np.float32)
    last_obs = (1 + rng.random((len(lens), 4, 3, 2))).astype(np.float32)
    act = np.stack([[1, 3]] * n_t)
    step_types = []
    for size in lens:
        step_types.extend([StepType.FIRST] + [StepType.MID] * (size - 2) + [StepType.TERMINAL])
    return {
        "env_spec": env_spec,
        "episode_infos": {"task_one_hot": np.stack([[1, 1]] * len(lens)),
                          "task_id": np.arange(len(lens))},
        "observations": obs,
        "last_observations": last_obs,
        "actions": act,
        "rewards": np.arange(n_t, dtype=np.float64),
        "env_infos": {"goal": np.stack([[1, 1]] * n_t), "foo": np.arange(n_t)},
        "agent_infos": {"prev_action": act, "hidden": np.arange(n_t)},
        "step_types": np.array(step_types, dtype=StepType),
        "lengths": lens,
    }


def test_new_eps_keeps_the_exact_arrays(eps_data: dict) -> None:
    t = EpisodeBatch(**eps_data)
    assert t.env_spec is eps_data["env_spec"]
    for field in ("observations", "last_observations", "actions", "rewards", "env_infos",
                  "agent_infos", "step_types", "lengths"):
        assert getattr(t, field) is eps_data[field]
    assert t.episode_infos_by_episode is eps_data["episode_infos"]
    assert t.episode_infos["task_one_hot"].shape == (sum(LENGTHS), 2)


def _drop_last(name: str, key: str | None = None):
    def edit(d: dict) -> None:
        if key is None:
            d[name] = d[name][:-1]
        else:
            d[name][key] = d[name][key][:-1]
    return edit


def _set(name: str, value_fn):
    def edit(d: dict) -> None:
        d[name] = value_fn(d)
    return edit


def _set_key(name: str, key: str, value) -> object:
    def edit(d: dict) -> None:
        d[name][key] = value
    return edit


INVALID = {
    "lengths_shape": (_set("lengths", lambda d: d["lengths"].reshape((4, -1))),
                      r"lengths has shape \(4, 2\)"),
    "lengths_dtype": (_set("lengths", lambda d: d["lengths"].astype(np.float32)),
                      "lengths has dtype float32"),
    "lengths_empty": (_set("lengths", lambda d: np.array([], dtype=np.int64)),
                      "lengths is empty"),
    "lengths_zero": (_set("lengths", lambda d: np.concatenate([d["lengths"][:-1], [0]])),
                     "lengths contains 0"),
    "obs_env_spec": (_set("observations", lambda d: d["observations"][:, :, :, :1]),
                     r"Each observation has shape \(4, 3, 1\)"),
    "obs_batch": (_drop_last("observations"), "observations has batch size 141"),
    "obs_type": (_set("observations", lambda d: d["observations"].tolist()),
                 "observations is not of type"),
    "last_obs_env_spec": (_set("last_observations", lambda d: d["last_observations"][..., :1]),
                          "Each last_observation has shape"),
    "last_obs_batch": (_drop_last("last_observations"), "last_observations has batch size 7"),
    "act_env_spec": (_set("actions", lambda d: d["actions"][:, 0]), "Each action has shape "),
    "act_box_env_spec": (_set("env_spec", lambda d: EnvSpec(
        d["env_spec"].observation_space,
        gym.spaces.Box(low=1, high=np.inf, shape=(4, 3, 2), dtype=np.float32))),
        "Each action has shape"),
    "act_batch": (_drop_last("actions"), "actions has batch size"),
    "rewards_shape": (_set("rewards", lambda d: d["rewards"].reshape((2, -1))),
                      r"rewards has shape \(2, 71\)"),
    "env_infos_not_ndarray": (_set_key("env_infos", "bar", []), "Entry 'bar' in env_infos"),
    "env_infos_batch": (_drop_last("env_infos", "goal"),
                        "Entry 'goal' in env_infos has batch size 141"),
    "agent_infos_not_ndarray": (_set_key("agent_infos", "bar", []),
                                "Entry 'bar' in agent_infos"),
    "agent_infos_batch": (_drop_last("agent_infos", "hidden"),
                          "Entry 'hidden' in agent_infos has batch size 141"),
    "step_types_shape": (_set("step_types", lambda d: d["step_types"].reshape((2, -1))),
                         "step_types has batch size 2"),
    "step_types_dtype": (_set("step_types", lambda d: d["step_types"].astype(np.float32)),
                         "step_types has dtype float32"),
    "episode_infos_not_ndarray": (_set_key("episode_infos", "bar", []),
                                  "Entry 'bar' in episode_infos"),
    "episode_infos_batch": (_drop_last("episode_infos", "task_one_hot"),
                            "Entry 'task_one_hot' in episode_infos has batch size 7"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invariant_violations_raise_value_error(eps_data: dict, case: str) -> None:
    edit, message = INVALID[case]
    edit(eps_data)
    with pytest.raises(ValueError, match=message) as info:
        EpisodeBatch(**eps_data)
    assert ":" in str(info.value)  # every message goes on to say how to fix it


def test_to_list_slices_per_episode(eps_data: dict) -> None:
    t = EpisodeBatch(**eps_data)
    t_list = t.to_list()
    assert len(t_list) == len(LENGTHS)
    start = 0
    for i, (length, last_obs, s) in enumerate(zip(LENGTHS, eps_data["last_observations"],
                                                  t_list)):
        stop = start + length
        np.testing.assert_array_equal(s["observations"], eps_data["observations"][start:stop])
        np.testing.assert_array_equal(
            s["next_observations"],
            np.concatenate((eps_data["observations"][start + 1:stop], [last_obs])))
        np.testing.assert_array_equal(s["actions"], eps_data["actions"][start:stop])
        np.testing.assert_array_equal(s["rewards"], eps_data["rewards"][start:stop])
        np.testing.assert_array_equal(s["step_types"], eps_data["step_types"][start:stop])
        np.testing.assert_array_equal(s["env_infos"]["foo"],
                                      eps_data["env_infos"]["foo"][start:stop])
        assert s["episode_infos"]["task_id"] == i
        start = stop
    assert start == len(eps_data["rewards"])


def _assert_batches_equal(a: EpisodeBatch, b: EpisodeBatch) -> None:
    for field in ("observations", "last_observations", "actions", "rewards", "step_types",
                  "lengths"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    for field in ("env_infos", "agent_infos", "episode_infos_by_episode"):
        da, db = getattr(a, field), getattr(b, field)
        assert da.keys() == db.keys()
        for key in da:
            np.testing.assert_array_equal(da[key], db[key])
    assert a.env_spec == b.env_spec


def test_from_list_inverts_to_list(eps_data: dict) -> None:
    t = EpisodeBatch(**eps_data)
    _assert_batches_equal(EpisodeBatch.from_list(t.env_spec, t.to_list()), t)


def test_from_list_with_one_more_observation_and_with_dones(eps_data: dict) -> None:
    t = EpisodeBatch(**eps_data)
    paths = t.to_list()
    for path, last in zip(paths, t.last_observations):
        path["observations"] = np.concatenate([path["observations"], [last]])
        del path["next_observations"]
        path["dones"] = path.pop("step_types") == StepType.TERMINAL
    rebuilt = EpisodeBatch.from_list(t.env_spec, paths)
    np.testing.assert_array_equal(rebuilt.last_observations, t.last_observations)
    np.testing.assert_array_equal(rebuilt.observations, t.observations)
    assert rebuilt.step_types[LENGTHS[0] - 1] == StepType.TERMINAL
    assert rebuilt.step_types[0] == StepType.MID  # garage's rule for "dones"
    with pytest.raises(ValueError, match="at least one episode"):
        EpisodeBatch.from_list(t.env_spec, [])


def test_split_and_concatenate_are_inverse(eps_data: dict) -> None:
    t = EpisodeBatch(**eps_data)
    parts = t.split()
    assert [len(p.lengths) for p in parts] == [1] * len(LENGTHS)
    assert [int(p.lengths[0]) for p in parts] == LENGTHS
    assert parts[3].episode_infos_by_episode["task_id"].tolist() == [3]
    _assert_batches_equal(EpisodeBatch.concatenate(*parts), t)


def test_concatenate_rejects_nothing_and_mismatched_keys(eps_data: dict) -> None:
    with pytest.raises(ValueError, match="at least one EpisodeBatch"):
        EpisodeBatch.concatenate()
    a, b = EpisodeBatch(**eps_data).split()[:2]
    b.env_infos["extra"] = np.zeros(len(b.rewards))
    with pytest.raises(ValueError, match="env_infos of batch 1 has keys"):
        EpisodeBatch.concatenate(a, b)


def test_concatenate_checks_even_a_single_batch(eps_data: dict) -> None:
    fields = dict(eps_data)
    fields["rewards"] = fields["rewards"][:-1]
    unchecked = EpisodeBatch._unchecked(**fields)
    with pytest.raises(ValueError, match="rewards has shape"):
        EpisodeBatch.concatenate(unchecked)


def test_episodes_padding_tensors(eps_data: dict) -> None:
    t = EpisodeBatch(**eps_data)
    n, max_len = len(t.lengths), t.env_spec.max_episode_length
    observations, actions = t.padded_observations, t.padded_actions
    rewards, valids, agent_infos = t.padded_rewards, t.valids, t.padded_agent_infos
    env_infos, step_types = t.padded_env_infos, t.padded_step_types
    next_obs = t.padded_next_observations
    assert observations.shape == (n, max_len, 4, 3, 2)
    assert actions.shape == (n, max_len, 2)
    assert rewards.shape == valids.shape == step_types.shape == (n, max_len)
    assert agent_infos.keys() == t.agent_infos.keys()
    assert env_infos["goal"].shape == (n, max_len, 2)
    start = 0
    for i, length in enumerate(t.lengths):
        stop = start + length
        np.testing.assert_array_equal(observations[i][:length], t.observations[start:stop])
        np.testing.assert_array_equal(next_obs[i][:length], t.next_observations[start:stop])
        assert np.count_nonzero(observations[i][length:]) == 0
        np.testing.assert_array_equal(actions[i][:length], t.actions[start:stop])
        assert np.count_nonzero(actions[i][length:]) == 0
        np.testing.assert_array_equal(rewards[i][:length], t.rewards[start:stop])
        assert np.count_nonzero(rewards[i][length:]) == 0
        assert (valids[i][:length] == 1).all() and np.count_nonzero(valids[i][length:]) == 0
        assert list(step_types[i][:length]) == list(t.step_types[start:stop])
        for key in agent_infos:
            np.testing.assert_array_equal(agent_infos[key][i][:length],
                                          t.agent_infos[key][start:stop])
            assert np.count_nonzero(agent_infos[key][i][length:]) == 0
        start = stop


def test_padding_needs_a_time_limit_long_enough(eps_data: dict) -> None:
    eps_data["env_spec"] = EnvSpec(eps_data["env_spec"].observation_space,
                                   eps_data["env_spec"].action_space)
    with pytest.raises(ValueError, match="max_episode_length, which is None"):
        _ = EpisodeBatch(**eps_data).padded_rewards
    eps_data["env_spec"] = EnvSpec(eps_data["env_spec"].observation_space,
                                   eps_data["env_spec"].action_space, max_episode_length=30)
    with pytest.raises(ValueError, match="an episode has length 40"):
        _ = EpisodeBatch(**eps_data).padded_rewards


def test_next_observations_and_lists(eps_data: dict) -> None:
    t = EpisodeBatch(**eps_data)
    expected = np.concatenate([np.concatenate((obs[1:], [last])) for obs, last in
                               zip(t.observations_list, t.last_observations)])
    np.testing.assert_array_equal(t.next_observations, expected)
    starts = np.cumsum([0] + LENGTHS[:-1])
    for i, (start, length) in enumerate(zip(starts, LENGTHS)):
        np.testing.assert_array_equal(t.observations_list[i],
                                      t.observations[start:start + length])
        np.testing.assert_array_equal(t.actions_list[i], t.actions[start:start + length])
    np.testing.assert_array_equal(t.episode_infos["task_id"], np.repeat(np.arange(8), LENGTHS))


def test_episode_batch_pickles(eps_data: dict) -> None:
    t = EpisodeBatch(**eps_data)
    _assert_batches_equal(pickle.loads(pickle.dumps(t)), t)


def test_step_types_array_matches_numpy() -> None:
    types = [StepType.FIRST, StepType.MID, StepType.TIMEOUT]
    fast = step_types_array(types)
    assert fast.dtype == np.dtype(StepType)
    assert list(fast) == list(np.array(types, dtype=StepType))


@pytest.mark.parametrize("step_cnt, max_len, done, expected", [
    (1, 5, False, StepType.FIRST),
    (2, 5, False, StepType.MID),
    (2, None, False, StepType.MID),
    (5, 5, False, StepType.TIMEOUT),
    (5, 5, True, StepType.TIMEOUT),
    (1, 5, True, StepType.TERMINAL),
    (3, None, True, StepType.TERMINAL),
])
def test_get_step_type(step_cnt: int, max_len: int | None, done: bool,
                       expected: StepType) -> None:
    assert StepType.get_step_type(step_cnt, max_len, done) is expected


def test_get_step_type_before_reset() -> None:
    with pytest.raises(ValueError, match="Did you forget to call `reset"):
        StepType.get_step_type(step_cnt=0, max_episode_length=5, done=True)
