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


def set_omp_passive() -> None:
    """Make XGBoost's OpenMP workers sleep, not spin, while they wait for work.

    On a shared 2-core machine spinning burns CPU other threads need (measured: 74 -> 48
    ms CPU per 10k-row prediction with 2 threads; docs/machine-notes.md). Effective only
    before xgboost is first imported; an explicit ``OMP_WAIT_POLICY`` wins. Process entry
    points call it (the CLI's ``main``, the tests' ``conftest.py``): importing the library
    changes no environment variable.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


__all__ = ["set_omp_passive"]
