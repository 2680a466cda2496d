"""A small numpy-only policy and algorithms used to test the engine without TensorFlow."""

from __future__ import annotations

from typing import Any

import numpy as np

from trainer import EpisodeBatch


class LinearSoftmaxPolicy:
    """Discrete-action policy: softmax over a linear function of the observation."""

    vectorized = True

    def __init__(self, env_spec: Any, seed: int = 0) -> None:
        self.env_spec = env_spec
        self._obs_dim = int(np.prod(env_spec.observation_space.shape))
        self._n_actions = int(env_spec.action_space.n)
        self._w = np.zeros((self._obs_dim, self._n_actions))
        self._rng = np.random.default_rng(seed)

    def get_actions(self, observations: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        logits = np.asarray(observations, dtype=np.float64).reshape(-1, self._obs_dim) @ self._w
        logits -= logits.max(axis=1, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(axis=1, keepdims=True)
        u = self._rng.random((len(prob), 1))
        actions = np.minimum((prob.cumsum(axis=1) < u).sum(axis=1), self._n_actions - 1)
        return actions, {"prob": prob}

    def get_action(self, observation: np.ndarray) -> tuple[int, dict[str, np.ndarray]]:
        actions, infos = self.get_actions(observation[None])
        return int(actions[0]), {k: v[0] for k, v in infos.items()}

    def reset(self, do_resets: Any = None) -> None:
        pass

    def get_param_values(self) -> np.ndarray:
        return self._w.ravel().copy()

    def set_param_values(self, flat: np.ndarray) -> None:
        self._w = np.asarray(flat, dtype=np.float64).reshape(self._obs_dim, self._n_actions).copy()


class RandomSearch:
    """Hill climbing on the average return: keep the best parameters, try a perturbation."""

    def __init__(self, env_spec: Any, policy: LinearSoftmaxPolicy, sampler: Any,
                 step_size: float = 0.5, seed: int = 0) -> None:
        self.env_spec = env_spec
        self.policy = policy
        self._sampler = sampler
        self.step_size = step_size
        self._rng = np.random.default_rng(seed)
        self._best_params = policy.get_param_values()
        self._best_return = -np.inf

    def train(self, trainer: Any) -> float | None:
        return trainer.run_epochs(self)

    def optimize(self, trainer: Any, epoch: int, episodes: EpisodeBatch) -> dict[str, float]:
        returns = [float(ep.rewards.sum()) for ep in episodes.split()]
        average = float(np.mean(returns))
        if average > self._best_return:
            self._best_return = average
            self._best_params = self.policy.get_param_values()
        noise = self._rng.standard_normal(self._best_params.shape)
        self.policy.set_param_values(self._best_params + self.step_size * noise)
        return {
            "Evaluation/AverageReturn": average,
            "Evaluation/NumEpisodes": len(returns),
            "RandomSearch/BestReturn": self._best_return,
        }


class GeneratorRandomSearch(RandomSearch):
    """The same algorithm written against garage's ``step_epochs()`` generator."""

    def train(self, trainer: Any) -> float | None:
        last_return = None
        for epoch in trainer.step_epochs():
            trainer.step_episode = trainer.obtain_episodes(trainer.step_itr)
            metrics = self.optimize(trainer, epoch, trainer.step_episode)
            trainer.logger.record_many(metrics)
            last_return = metrics["Evaluation/AverageReturn"]
            trainer.step_itr += 1
        return last_return


class NoSamplerAlgo:
    """An algorithm without a sampler (garage's test_setup_no_sampler)."""

    def __init__(self) -> None:
        self.epochs_seen: list[int] = []

    def train(self, trainer: Any) -> None:
        for epoch in trainer.step_epochs():
            self.epochs_seen.append(epoch)
            trainer.step_itr += 1
