"""TF policies whose actions are sampled with numpy, and their symbolic distributions.

Build them inside ``with TFTrainer(...) as trainer:`` (a default TF1 session). Sampling
(``get_actions``) never calls TensorFlow; algorithms differentiate ``policy.build(obs_var)``.
"""

from trainer.policies._mlp import register_nonlinearity
from trainer.policies.categorical_mlp_policy import CategoricalMLPPolicy
from trainer.policies.distributions import Categorical, DiagonalGaussian, Distribution
from trainer.policies.gaussian_mlp_policy import GaussianMLPPolicy
from trainer.policies.policy import Policy
from trainer.policies.tf_module import TFModule

__all__ = [
    "Categorical",
    "CategoricalMLPPolicy",
    "DiagonalGaussian",
    "Distribution",
    "GaussianMLPPolicy",
    "Policy",
    "TFModule",
    "register_nonlinearity",
]
