"""Environments: EnvSpec, EnvStep, the Environment interface and GymEnv (gymnasium 1.x)."""

from trainer.envs.env_spec import EnvSpec
from trainer.envs.environment import Environment, EnvStep
from trainer.envs.gym_env import GymEnv

__all__ = ["EnvSpec", "EnvStep", "Environment", "GymEnv"]
