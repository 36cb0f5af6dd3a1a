"""Models: training, evaluation, thresholds, the versioned registry and the ensemble scorer.

Pure core: no broker, database, Spark or web imports. Engines and the API use
:class:`~fraudguard.models.scorer.Scorer`; ``fraudguard train`` uses
:func:`~fraudguard.models.trainer.train_and_register`.

>>> from fraudguard.models.scorer import Scorer           # doctest: +SKIP
>>> scorer = Scorer.load(settings.models_dir)              # doctest: +SKIP
>>> pipe = scorer.make_pipeline()                          # doctest: +SKIP
>>> preds = scorer.score_frame(frame, pipe.transform(frame))  # doctest: +SKIP
"""
