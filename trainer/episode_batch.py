r"""Episode data: :class:`StepType` and :class:`EpisodeBatch` (garage's ``garage.EpisodeBatch``).

Shapes use garage's symbols:

==============  ==================================================================
Symbol          Meaning
==============  ==================================================================
``N``           number of episodes in the batch
``[T]``         the variable length of each episode
``N * [T]``     all time steps of all episodes, flattened: ``sum(lengths)``
``O*``, ``A*``  the shape of one observation, one action
``S*``          the shape of one entry of an info dict
==============  ==================================================================
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from gymnasium import spaces

if TYPE_CHECKING:
    from trainer.envs import EnvSpec

InfoDict = dict[str, Any]  # values: np.ndarray with the batch dimension first, or nested dicts


class StepType(enum.IntEnum):
    """Where a time step sits in its episode.

    The last step of an episode is either ``TERMINAL`` (the environment reached a terminal
    state) or ``TIMEOUT`` (the episode was cut by a time limit). With ``max_episode_length=5``:

    * terminated at step 4: ``FIRST, MID, MID, TERMINAL``
    * cut by the time limit: ``FIRST, MID, MID, MID, TIMEOUT``
    """

    FIRST = 0
    MID = 1
    TERMINAL = 2
    TIMEOUT = 3

    @classmethod
    def get_step_type(cls, step_cnt: int, max_episode_length: int | None,
                      done: bool) -> StepType:
        """Return the type of the ``step_cnt``-th step of an episode.

        Args:
            step_cnt: 1-based number of the step within its episode.
            max_episode_length: The time limit, or ``None`` for none.
            done: Whether the environment reported a terminal state.

        Returns:
            ``TIMEOUT`` if ``step_cnt >= max_episode_length`` (even when ``done``), else
            ``TERMINAL`` if ``done``, ``FIRST`` for step 1, else ``MID``.

        Raises:
            ValueError: If ``step_cnt < 1`` (usually ``reset()`` was not called).
        """
        if step_cnt < 1:
            raise ValueError(f"Expect step_cnt to be >= 1, but got {step_cnt} instead. Did you "
                             "forget to call `reset()`?")
        if max_episode_length is not None and step_cnt >= max_episode_length:
            return cls.TIMEOUT
        if done:
            return cls.TERMINAL
        if step_cnt == 1:
            return cls.FIRST
        return cls.MID


def step_types_array(step_types: Sequence[StepType]) -> np.ndarray:
    """Return ``step_types`` as a 1-D array of dtype :class:`StepType`.

    Same result as ``np.array(step_types, dtype=StepType)``, several times faster (numpy
    inspects every enum member when it builds an object array from a list).
    """
    return np.fromiter(step_types, dtype=object, count=len(step_types))


# ---------------------------------------------------------------------------------- validation

def _space_soft_contains(space: spaces.Space, element: Any) -> bool:
    """Return whether ``element`` belongs to ``space`` or has its flat dimension (one-hot).

    Like garage, only the shape matters for boxes: values outside the bounds pass.
    """
    if isinstance(space, spaces.Box) and np.shape(element) == space.shape:
        return True  # the common case, ~50x faster than Box.contains()
    if isinstance(space, spaces.Discrete) and np.ndim(element) == 0:
        return True
    try:
        if space.contains(element):
            return True
    except (TypeError, ValueError):
        pass
    try:
        return spaces.flatdim(space) == int(np.prod(np.shape(element)))
    except (NotImplementedError, ValueError, TypeError):
        return False


def _check_array(field: str, value: Any) -> None:
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{field} is not of type {np.ndarray!r} but {type(value)!r}: convert it "
                         f"with np.asarray({field}).")


def _check_batch_size(field: str, value: np.ndarray, size: int, against: str) -> None:
    if value.ndim == 0 or value.shape[0] != size:
        got = value.shape[0] if value.ndim else "none (a scalar)"
        raise ValueError(f"{field} has batch size {got}, but must have batch size {size} to "
                         f"match {against}: pass one entry per {_unit(against)}.")


def _unit(against: str) -> str:
    return "episode" if against == "the number of episodes" else "time step"


def _check_in_space(field: str, value: np.ndarray, space: spaces.Space, space_name: str) -> None:
    if not _space_soft_contains(space, value[0]):
        raise ValueError(f"Each {field} has shape {np.shape(value[0])} but must match the "
                         f"{space_name} {space}: check that the data comes from this EnvSpec's "
                         "environment.")


def _check_infos(field: str, infos: Any, size: int, against: str) -> None:
    if not isinstance(infos, Mapping):
        raise ValueError(f"{field} is of type {type(infos)!r} but must be a dict of numpy "
                         "arrays (use {} for none).")
    for key, val in infos.items():
        if isinstance(val, Mapping):
            _check_infos(f"{field}[{key!r}]", val, size, against)
            continue
        if not isinstance(val, np.ndarray):
            raise ValueError(f"Entry {key!r} in {field} is of type {type(val)!r} but must be "
                             f"{np.ndarray!r} or dict: stack the values with np.asarray().")
        if val.ndim == 0 or val.shape[0] != size:
            got = val.shape[0] if val.ndim else "none (a scalar)"
            raise ValueError(f"Entry {key!r} in {field} has batch size {got} but must have batch "
                             f"size {size} to match {against}: pass one entry per "
                             f"{_unit(against)}.")


def _check_lengths(lengths: Any) -> None:
    _check_array("lengths", lengths)
    if lengths.ndim != 1:
        raise ValueError(f"lengths has shape {lengths.shape} but must be a tensor of shape (N,): "
                         "pass one integer length per episode, e.g. np.array([200, 37]).")
    if lengths.dtype.kind not in "ui":
        raise ValueError(f"lengths has dtype {lengths.dtype}, but must have an integer dtype: "
                         "convert it with lengths.astype(np.int64).")
    if lengths.size == 0:
        raise ValueError("lengths is empty: an EpisodeBatch needs at least one episode.")
    if lengths.min() < 1:
        raise ValueError(f"lengths contains {lengths.min()}: every episode must have at least "
                         "one time step.")


def _check_step_types(step_types: Any, n_steps: int) -> None:
    _check_array("step_types", step_types)
    _check_batch_size("step_types", step_types, n_steps, "lengths")
    if step_types.shape != (n_steps,):
        raise ValueError(f"step_types has shape {step_types.shape} but must have shape "
                         f"({n_steps},): one StepType per time step.")
    if step_types.dtype != StepType:
        raise ValueError(f"step_types has dtype {step_types.dtype} but must have dtype StepType: "
                         "build it with np.array(step_types, dtype=StepType).")


def _check_episode_batch(batch: EpisodeBatch) -> None:
    """Raise ``ValueError`` if ``batch``'s fields break an invariant of :class:`EpisodeBatch`."""
    _check_lengths(batch.lengths)
    n_episodes = len(batch.lengths)
    n_steps = int(batch.lengths.sum())
    steps = f"lengths (they sum to {n_steps})"
    episodes = "the number of episodes"
    obs_space = batch.env_spec.observation_space
    act_space = batch.env_spec.action_space

    _check_infos("episode_infos", batch.episode_infos_by_episode, n_episodes, episodes)
    _check_array("last_observations", batch.last_observations)
    _check_batch_size("last_observations", batch.last_observations, n_episodes, episodes)
    _check_in_space("last_observation", batch.last_observations, obs_space, "observation_space")
    _check_array("observations", batch.observations)
    _check_batch_size("observations", batch.observations, n_steps, steps)
    _check_in_space("observation", batch.observations, obs_space, "observation_space")
    _check_array("actions", batch.actions)
    _check_batch_size("actions", batch.actions, n_steps, steps)
    _check_in_space("action", batch.actions, act_space, "action_space")
    _check_array("rewards", batch.rewards)
    if batch.rewards.shape != (n_steps,):
        raise ValueError(f"rewards has shape {batch.rewards.shape} but must have shape "
                         f"({n_steps},) to match {steps}: one scalar reward per time step.")
    _check_step_types(batch.step_types, n_steps)
    _check_infos("env_infos", batch.env_infos, n_steps, steps)
    _check_infos("agent_infos", batch.agent_infos, n_steps, steps)


# ------------------------------------------------------------------------------- dict helpers

def _map_infos(infos: Mapping[str, Any], fn: Any) -> InfoDict:
    """Apply ``fn`` to every array of a (possibly nested) info dict."""
    return {k: _map_infos(v, fn) if isinstance(v, Mapping) else fn(v) for k, v in infos.items()}


def _concat_infos(field: str, dicts: Sequence[Mapping[str, Any]]) -> InfoDict:
    """Concatenate info dicts along the batch dimension; their keys must agree."""
    keys = set(dicts[0])
    for i, d in enumerate(dicts[1:], start=1):
        if set(d) != keys:
            raise ValueError(f"{field} of batch {i} has keys {sorted(d)} but batch 0 has "
                             f"{sorted(keys)}: every batch must record the same {field} keys.")
    out: InfoDict = {}
    for key in dicts[0]:
        values = [d[key] for d in dicts]
        if isinstance(values[0], Mapping):
            out[key] = _concat_infos(f"{field}[{key!r}]", values)
        else:
            out[key] = np.concatenate(values)
    return out


def _stack_infos(dicts: Sequence[Mapping[str, Any]]) -> InfoDict:
    """Stack per-episode info dicts (values without a batch dimension) into arrays."""
    if not dicts:
        return {}
    out: InfoDict = {}
    for key in dicts[0]:
        values = [d[key] for d in dicts]
        out[key] = (_stack_infos(values) if isinstance(values[0], Mapping)
                    else np.asarray(values))
    return out


def _pad(array: np.ndarray, lengths: np.ndarray, max_length: int) -> np.ndarray:
    """Scatter a ``(N * [T], S*)`` array into a zero-padded ``(N, max_length, S*)`` array."""
    out = np.zeros((len(lengths), max_length) + array.shape[1:], dtype=array.dtype)
    out[np.arange(max_length) < lengths[:, None]] = array
    return out


# -------------------------------------------------------------------------------- EpisodeBatch

@dataclass(frozen=True, init=False, eq=False)
class EpisodeBatch:
    r"""A batch of whole episodes, the data type of on-policy algorithms.

    Produced when one or more agents interact with one or more environments; the samplers return
    it and the algorithms consume it. Every array is kept as given (no copies).

    Args:
        env_spec: Spec of the environment the data was sampled from.
        episode_infos: Episode-level information (e.g. a goal), a dict of arrays of shape
            ``(N, S*)``; stored as ``episode_infos_by_episode``.
        observations: ``(N * [T], O*)`` observations; ``observations[i]`` was used to choose
            ``actions[i]``.
        last_observations: ``(N, O*)`` the observation after each episode's last action.
        actions: ``(N * [T], A*)`` actions.
        rewards: ``(N * [T],)`` rewards.
        env_infos: Environment information, a dict of arrays of shape ``(N * [T], S*)``.
        agent_infos: Agent information (e.g. action probabilities), a dict of arrays of shape
            ``(N * [T], S*)``.
        step_types: ``(N * [T],)`` array of dtype :class:`StepType`.
        lengths: ``(N,)`` integer array, the length of each episode (each at least 1).

    Raises:
        ValueError: If a field does not match its documented type or shape, or an observation
            or action does not match ``env_spec`` (garage's checks, on the first entry).

    Examples:
        >>> batch = sampler.obtain_samples(0, 1000, policy.get_param_values())
        >>> batch.padded_rewards.shape  # (N, env_spec.max_episode_length)
    """

    env_spec: EnvSpec
    episode_infos_by_episode: InfoDict
    observations: np.ndarray
    last_observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    env_infos: InfoDict
    agent_infos: InfoDict
    step_types: np.ndarray
    lengths: np.ndarray

    def __init__(self, env_spec: EnvSpec, episode_infos: InfoDict, observations: np.ndarray,
                 last_observations: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
                 env_infos: InfoDict, agent_infos: InfoDict, step_types: np.ndarray,
                 lengths: np.ndarray) -> None:
        fields = {
            "env_spec": env_spec, "episode_infos_by_episode": episode_infos,
            "observations": observations, "last_observations": last_observations,
            "actions": actions, "rewards": rewards, "env_infos": env_infos,
            "agent_infos": agent_infos, "step_types": step_types, "lengths": lengths,
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)
        _check_episode_batch(self)

    @classmethod
    def _unchecked(cls, **fields: Any) -> EpisodeBatch:
        """Build a batch without validation, from data assembled consistently by a worker.

        Samplers validate the batch they return (:meth:`concatenate` always checks), so the
        per-rollout batches of the workers skip the checks.
        """
        batch = object.__new__(cls)
        fields["episode_infos_by_episode"] = fields.pop("episode_infos")
        batch.__dict__.update(fields)  # bypasses the frozen __setattr__, as __init__ does
        return batch

    # ------------------------------------------------------------------ construction

    @classmethod
    def concatenate(cls, *batches: EpisodeBatch) -> EpisodeBatch:
        """Concatenate batches into one, in order (the inverse of :meth:`split`).

        Args:
            *batches: One or more batches with the same info keys; the first one's
                ``env_spec`` is used.

        Returns:
            The concatenated batch.

        Raises:
            ValueError: If no batch is given, their info keys differ, or the result breaks an
                invariant (the result is always checked).
        """
        if not batches:
            raise ValueError("EpisodeBatch.concatenate() needs at least one EpisodeBatch; got "
                             "none.")
        batch = cls._concatenate_unchecked(batches)
        _check_episode_batch(batch)
        return batch

    @classmethod
    def _concatenate_unchecked(cls, batches: Sequence[EpisodeBatch]) -> EpisodeBatch:
        """Concatenate without validating the result (for a worker's own batches)."""
        if len(batches) == 1:
            return batches[0]
        return cls._unchecked(
            env_spec=batches[0].env_spec,
            episode_infos=_concat_infos("episode_infos",
                                        [b.episode_infos_by_episode for b in batches]),
            observations=np.concatenate([b.observations for b in batches]),
            last_observations=np.concatenate([b.last_observations for b in batches]),
            actions=np.concatenate([b.actions for b in batches]),
            rewards=np.concatenate([b.rewards for b in batches]),
            env_infos=_concat_infos("env_infos", [b.env_infos for b in batches]),
            agent_infos=_concat_infos("agent_infos", [b.agent_infos for b in batches]),
            step_types=np.concatenate([b.step_types for b in batches]),
            lengths=np.concatenate([b.lengths for b in batches]),
        )

    def _episode_ranges(self) -> Iterator[tuple[int, int, int]]:
        """Yield ``(episode index, first step, one past the last step)`` per episode."""
        start = 0
        for i, length in enumerate(self.lengths.tolist()):
            yield i, start, start + length
            start += length

    def split(self) -> list[EpisodeBatch]:
        """Split into one batch per episode (the inverse of :meth:`concatenate`).

        Returns:
            ``N`` batches of one episode each, in order.
        """
        return [
            EpisodeBatch(
                env_spec=self.env_spec,
                episode_infos=_map_infos(self.episode_infos_by_episode, lambda v, i=i: v[i:i + 1]),
                observations=self.observations[start:stop],
                last_observations=self.last_observations[i:i + 1],
                actions=self.actions[start:stop],
                rewards=self.rewards[start:stop],
                env_infos=_map_infos(self.env_infos, lambda v, a=start, b=stop: v[a:b]),
                agent_infos=_map_infos(self.agent_infos, lambda v, a=start, b=stop: v[a:b]),
                step_types=self.step_types[start:stop],
                lengths=self.lengths[i:i + 1],
            )
            for i, start, stop in self._episode_ranges()
        ]

    def to_list(self) -> list[dict[str, Any]]:
        """Convert into one dict per episode (garage's "paths").

        Returns:
            ``N`` dicts with keys ``episode_infos`` (values of shape ``(S*)``),
            ``observations`` ``(T, O*)``, ``next_observations`` ``(T, O*)``,
            ``actions`` ``(T, A*)``, ``rewards`` ``(T,)``, ``env_infos`` and ``agent_infos``
            (values ``(T, S*)``) and ``step_types`` ``(T,)``. ``from_list`` inverts it exactly
            (garage gave ``episode_infos`` a stray leading dimension here).
        """
        next_obs = self.next_observations
        return [
            {
                "episode_infos": _map_infos(self.episode_infos_by_episode, lambda v, i=i: v[i]),
                "observations": self.observations[start:stop],
                "next_observations": next_obs[start:stop],
                "actions": self.actions[start:stop],
                "rewards": self.rewards[start:stop],
                "env_infos": _map_infos(self.env_infos, lambda v, a=start, b=stop: v[a:b]),
                "agent_infos": _map_infos(self.agent_infos, lambda v, a=start, b=stop: v[a:b]),
                "step_types": self.step_types[start:stop],
            }
            for i, start, stop in self._episode_ranges()
        ]

    @classmethod
    def from_list(cls, env_spec: EnvSpec, paths: Sequence[Mapping[str, Any]]) -> EpisodeBatch:
        """Build a batch from one dict per episode (the inverse of :meth:`to_list`).

        Args:
            env_spec: Spec of the environment the data was sampled from.
            paths: Dicts with keys ``observations`` (``(T, O*)``, or ``(T + 1, O*)`` including
                the last observation), ``actions``, ``rewards``, ``env_infos``,
                ``agent_infos``, ``step_types`` (or garage's older boolean ``dones``), and
                optionally ``next_observations`` and ``episode_infos`` (values ``(S*)``). If
                neither the extra observation nor ``next_observations`` is there, the last
                observation is repeated.

        Returns:
            The batch.

        Raises:
            ValueError: If ``paths`` is empty or the data breaks an invariant.
        """
        if not paths:
            raise ValueError("EpisodeBatch.from_list() needs at least one episode; got an empty "
                             "list.")
        lengths = np.asarray([len(p["rewards"]) for p in paths], dtype=np.int64)
        if all(len(p["observations"]) == n + 1 for p, n in zip(paths, lengths)):
            observations = np.concatenate([np.asarray(p["observations"])[:-1] for p in paths])
            last_observations = np.asarray([p["observations"][-1] for p in paths])
        else:
            observations = np.concatenate([np.asarray(p["observations"]) for p in paths])
            key = "next_observations" if paths[0].get("next_observations") is not None \
                else "observations"
            last_observations = np.asarray([p[key][-1] for p in paths])
        if all("step_types" in p for p in paths):
            step_types = np.concatenate([np.asarray(p["step_types"], dtype=StepType)
                                         for p in paths])
        else:
            dones = np.concatenate([np.asarray(p["dones"]) for p in paths])
            step_types = np.array([StepType.TERMINAL if d else StepType.MID for d in dones],
                                  dtype=StepType)
        return cls(
            env_spec=env_spec,
            episode_infos=_stack_infos([p.get("episode_infos", {}) for p in paths]),
            observations=observations,
            last_observations=last_observations,
            actions=np.concatenate([np.asarray(p["actions"]) for p in paths]),
            rewards=np.concatenate([np.asarray(p["rewards"]) for p in paths]),
            env_infos=_concat_infos("env_infos", [p.get("env_infos", {}) for p in paths]),
            agent_infos=_concat_infos("agent_infos", [p.get("agent_infos", {}) for p in paths]),
            step_types=step_types,
            lengths=lengths,
        )

    # ------------------------------------------------------------------ derived views

    @property
    def next_observations(self) -> np.ndarray:
        """``(N * [T], O*)``: the observation seen after each action."""
        next_obs = np.empty_like(self.observations)
        next_obs[:-1] = self.observations[1:]
        next_obs[np.cumsum(self.lengths) - 1] = self.last_observations
        return next_obs

    @property
    def episode_infos(self) -> InfoDict:
        """``episode_infos_by_episode`` repeated for every step: values ``(N * [T], S*)``."""
        return _map_infos(self.episode_infos_by_episode,
                          lambda v: np.repeat(v, self.lengths, axis=0))

    @property
    def observations_list(self) -> list[np.ndarray]:
        """The observations split per episode: ``N`` arrays of shape ``(T, O*)``."""
        return np.split(self.observations, np.cumsum(self.lengths)[:-1])

    @property
    def actions_list(self) -> list[np.ndarray]:
        """The actions split per episode: ``N`` arrays of shape ``(T, A*)``."""
        return np.split(self.actions, np.cumsum(self.lengths)[:-1])

    def _max_length(self) -> int:
        max_length = self.env_spec.max_episode_length
        if max_length is None:
            raise ValueError("padded arrays need env_spec.max_episode_length, which is None: "
                             "build the environment with a time limit, e.g. "
                             "GymEnv(env, max_episode_length=200).")
        if int(self.lengths.max()) > max_length:
            raise ValueError(f"an episode has length {int(self.lengths.max())}, more than "
                             f"env_spec.max_episode_length={max_length}: sample with a "
                             "max_episode_length no larger than the environment's.")
        return max_length

    def _padded(self, array: np.ndarray) -> np.ndarray:
        return _pad(array, self.lengths, self._max_length())

    @property
    def padded_observations(self) -> np.ndarray:
        """``(N, max_episode_length, O*)`` observations, zero after each episode's end."""
        return self._padded(self.observations)

    @property
    def padded_next_observations(self) -> np.ndarray:
        """``(N, max_episode_length, O*)`` next observations, zero-padded."""
        return self._padded(self.next_observations)

    @property
    def padded_actions(self) -> np.ndarray:
        """``(N, max_episode_length, A*)`` actions, zero-padded."""
        return self._padded(self.actions)

    @property
    def padded_rewards(self) -> np.ndarray:
        """``(N, max_episode_length)`` rewards, zero-padded."""
        return self._padded(self.rewards)

    @property
    def padded_step_types(self) -> np.ndarray:
        """``(N, max_episode_length)`` step types, zero-padded."""
        return self._padded(self.step_types)

    @property
    def padded_agent_infos(self) -> InfoDict:
        """``agent_infos`` with values ``(N, max_episode_length, S*)``, zero-padded."""
        return _map_infos(self.agent_infos, self._padded)

    @property
    def padded_env_infos(self) -> InfoDict:
        """``env_infos`` with values ``(N, max_episode_length, S*)``, zero-padded."""
        return _map_infos(self.env_infos, self._padded)

    @property
    def valids(self) -> np.ndarray:
        """``(N, max_episode_length)`` float array: 1 for real steps, 0 for padding."""
        return self._padded(np.ones(len(self.rewards)))
