"""TFTrainer: a Trainer that owns a TensorFlow (TF1-style) session and graph."""

from __future__ import annotations

from typing import Any

from trainer.experiment import SnapshotConfig
from trainer.trainer import Trainer


class TFTrainer(Trainer):
    """A :class:`Trainer` whose TensorFlow session is the default one inside its context.

    TF policies, baselines and algorithms build their graphs at construction, so build them
    inside the context::

        with TFTrainer(SnapshotConfig("data/local/trpo_cartpole")) as trainer:
            policy = CategoricalMLPPolicy(env.spec)
            ...
            trainer.setup(algo, env)
            trainer.train(n_epochs=100, batch_size=4000)

    Entering makes ``sess`` the default session and its graph the default graph, unless ``sess``
    already is the default session; exiting closes the session only if this trainer entered it,
    so an external session that was already the default stays open and default.

    Args:
        snapshot_config: As for :class:`Trainer`. Default ``None``: a default config.
        sess: The session to use. Default ``None``: a new ``tf.compat.v1.Session`` on a fresh graph.
    """

    def __init__(self, snapshot_config: SnapshotConfig | Any | None = None,
                 sess: Any | None = None) -> None:
        import tensorflow as tf  # Imported lazily: numpy-only experiments never pay for TF.

        super().__init__(snapshot_config)
        self._tf = tf
        self.sess = sess if sess is not None else tf.compat.v1.Session(graph=tf.Graph())
        self.sess_entered = False

    def __enter__(self) -> TFTrainer:
        if self._tf.compat.v1.get_default_session() is not self.sess:
            self.sess.__enter__()
            self.sess_entered = True
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if self._tf.compat.v1.get_default_session() is self.sess and self.sess_entered:
            self.sess.__exit__(exc_type, exc, traceback)
            self.sess_entered = False

    def initialize_tf_vars(self) -> None:
        """Initialize the graph's uninitialized global variables, and only those.

        Variables that already hold values (e.g. weights loaded before ``setup``) keep them.
        """
        tf = self._tf
        with self.sess.graph.as_default(), tf.name_scope("initialize_tf_vars"):
            uninitialized = {
                name.decode() for name in
                self.sess.run(tf.compat.v1.report_uninitialized_variables())
            }
            to_init = [v for v in tf.compat.v1.global_variables()
                       if v.name.split(":")[0] in uninitialized]
            if to_init:
                self.sess.run(tf.compat.v1.variables_initializer(to_init))

    def setup(self, algo: Any, env: Any) -> None:
        """Initialize uninitialized TF variables, then set up as :meth:`Trainer.setup`."""
        self.initialize_tf_vars()
        super().setup(algo, env)

    def _start_worker(self) -> None:
        if self._sampler is not None and hasattr(self._sampler, "start_worker"):
            self._sampler.start_worker()
        super()._start_worker()
