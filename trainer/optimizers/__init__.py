"""Optimizers for TF policies and regressors: Adam, CG under a KL limit, L-BFGS penalty."""

from trainer.optimizers.conjugate_gradient_optimizer import (
    ConjugateGradientOptimizer,
    PearlmutterHVP,
    conjugate_gradient,
)
from trainer.optimizers.first_order_optimizer import FirstOrderOptimizer
from trainer.optimizers.lbfgs import lbfgs_minimize
from trainer.optimizers.penalty_lbfgs_optimizer import PenaltyLBFGSOptimizer

__all__ = [
    "ConjugateGradientOptimizer",
    "FirstOrderOptimizer",
    "PearlmutterHVP",
    "PenaltyLBFGSOptimizer",
    "conjugate_gradient",
    "lbfgs_minimize",
]
