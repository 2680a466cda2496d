"""Algorithms: VPG, PPO, TRPO (TF, sharing NPO's loss graph) and CEM, CMA-ES (numpy).

Each implements ``train(trainer)`` as ``trainer.run_epochs(self)`` plus ``optimize(trainer,
epoch, episodes)`` (and CEM/CMA-ES a ``sample`` phase); see ``docs/architecture.md``.
"""

from trainer.algos.cem import CEM
from trainer.algos.cma_es import CMAES
from trainer.algos.npo import NPO
from trainer.algos.performance import log_performance
from trainer.algos.ppo import PPO
from trainer.algos.trpo import TRPO
from trainer.algos.vpg import VPG

__all__ = ["CEM", "CMAES", "NPO", "PPO", "TRPO", "VPG", "log_performance"]
