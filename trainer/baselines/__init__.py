"""Value baselines: ``fit(paths)`` on episodes' returns, ``predict(path)`` per episode.

``LinearFeatureBaseline`` is plain numpy; ``GaussianMLPBaseline`` fits in TF (build it inside
``with TFTrainer(...) as trainer:``) and predicts with numpy.
"""

from trainer.baselines.linear_feature_baseline import LinearFeatureBaseline


def __getattr__(name: str) -> type:
    # GaussianMLPBaseline imports TensorFlow; numpy-only users of LinearFeatureBaseline don't
    # pay for that import.
    if name == "GaussianMLPBaseline":
        from trainer.baselines.gaussian_mlp_baseline import GaussianMLPBaseline

        return GaussianMLPBaseline
    raise AttributeError(f"module 'trainer.baselines' has no attribute {name!r}")


__all__ = ["GaussianMLPBaseline", "LinearFeatureBaseline"]
