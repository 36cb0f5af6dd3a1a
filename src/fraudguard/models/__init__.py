"""Models: training, evaluation, thresholds, the versioned registry and the ensemble scorer.

Pure core: no broker, database, Spark or web imports. Engines and the API use
:class:`~fraudguard.models.scorer.Scorer`; ``fraudguard train`` uses
:func:`~fraudguard.models.trainer.train_and_register`.

>>> from fraudguard.models.scorer import Scorer           # doctest: +SKIP
>>> scorer = Scorer.load(settings.models_dir)              # doctest: +SKIP
>>> pipe = scorer.make_pipeline()                          # doctest: +SKIP
>>> preds = scorer.score_frame(frame, pipe.transform(frame))  # doctest: +SKIP
"""

import os

# XGBoost's OpenMP workers spin while waiting for work by default; on a shared 2-core
# machine that burns CPU other threads need (measured: 74 -> 48 ms CPU per 10k-row
# prediction with 2 threads). Takes effect only if xgboost is not loaded yet; an explicit
# setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
