"""TF policies whose actions are sampled with numpy, and their symbolic distributions.

Build them inside ``with TFTrainer(...) as trainer:`` (a default TF1 session). Sampling
(``get_actions``) never calls TensorFlow; algorithms differentiate ``policy.build(obs_var)``.

Names are imported on first use, so numpy-only users of ``trainer.policies.spaces`` (e.g.
``LinearFeatureBaseline``) do not import TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Categorical": "trainer.policies.distributions",
    "CategoricalMLPPolicy": "trainer.policies.categorical_mlp_policy",
    "DiagonalGaussian": "trainer.policies.distributions",
    "Distribution": "trainer.policies.distributions",
    "GaussianMLPPolicy": "trainer.policies.gaussian_mlp_policy",
    "ObservationFlattener": "trainer.policies.spaces",
    "Policy": "trainer.policies.policy",
    "TFModule": "trainer.policies.tf_module",
    "register_nonlinearity": "trainer.policies._mlp",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trainer.policies' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
