"""An experiment's logs: stdout table, Python logging, ``progress.csv``, TensorBoard, ``debug.log``.

All of them live next to the snapshots: ``<snapshot_dir>/progress.csv``,
``<snapshot_dir>/debug.log`` and ``<snapshot_dir>/tb/``.
"""

from trainer.logs.experiment_logger import ExperimentLogger
from trainer.logs.log_dir import DEBUG_LOG, PROGRESS_CSV, TB_DIR

__all__ = ["DEBUG_LOG", "PROGRESS_CSV", "TB_DIR", "ExperimentLogger"]
