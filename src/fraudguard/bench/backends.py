"""Benchmark ``backends``: why the compiled graph is built by hand, measured again on demand.

The same feature rows are scored per model by the libraries (XGBoost ``inplace_predict``,
the leaf tables), by the standard converters (onnxmltools for XGBoost, skl2onnx for the
forests) under ONNX Runtime, by treelite's GTIL (no compiler needed at run time) and by
:mod:`fraudguard.models.compiled` (all three models in one call). Reported: µs per call
at batch 1, 100 and 10,000, and each backend's largest difference from the library
score. The converters and treelite are in the ``bench`` extra only; serving needs
neither.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fraudguard.models.scorer import Scorer

BATCHES = (1, 100, 10_000)


def _us(f: Callable[[np.ndarray], Any], x: np.ndarray, seconds: float) -> float:
    f(x)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        f(x)
        n += 1
    return 1e6 * (time.perf_counter() - t0) / n


def _converters(models: Any, n_features: int) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    import onnxruntime as ort
    from onnxmltools.convert import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType
    from skl2onnx import to_onnx

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    ml = {"": 17, "ai.onnx.ml": 3}
    graphs = {
        "xgboost": convert_xgboost(models.xgboost, initial_types=[("x", FloatTensorType([None, n_features]))], target_opset=15),
        "random_forest": to_onnx(models.random_forest, np.zeros((1, n_features), np.float32),
                                 options={id(models.random_forest): {"zipmap": False}}, target_opset=ml),
        "isolation_forest": to_onnx(models.isolation_forest, np.zeros((1, n_features), np.float32), target_opset=ml),
    }  # fmt: skip
    sessions = {k: ort.InferenceSession(g.SerializeToString(), opts) for k, g in graphs.items()}
    names = {k: s.get_inputs()[0].name for k, s in sessions.items()}
    offset = float(models.isolation_forest.offset_)
    return {
        "xgboost": lambda x: sessions["xgboost"].run(None, {names["xgboost"]: x})[1][:, 1],
        "random_forest": lambda x: sessions["random_forest"].run(None, {names["random_forest"]: x})[1][:, 1],
        "isolation_forest": lambda x: -(sessions["isolation_forest"].run(None, {names["isolation_forest"]: x})[1][:, 0] + offset),
    }  # fmt: skip


def _treelite(models: Any) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    import treelite

    tl = {
        "xgboost": treelite.frontend.from_xgboost(models.xgboost),
        "random_forest": treelite.sklearn.import_model(models.random_forest),
        "isolation_forest": treelite.sklearn.import_model(models.isolation_forest),
    }
    return {
        "xgboost": lambda x: treelite.gtil.predict(tl["xgboost"], x, nthread=1).reshape(len(x)),
        "random_forest": lambda x: treelite.gtil.predict(tl["random_forest"], x, nthread=1).reshape(len(x), -1)[:, -1],
        "isolation_forest": lambda x: treelite.gtil.predict(tl["isolation_forest"], x, nthread=1).reshape(len(x)),
    }  # fmt: skip


def run_backends(registry: Path, *, rows: int = 10_000, seconds: float = 0.5) -> dict[str, Any]:
    """µs per call and largest difference from the library, per backend, model and batch size."""
    from fraudguard.bench.compiled import feature_matrix

    scorer = Scorer.load(registry)
    models = scorer.models
    x = feature_matrix(scorer, rows, 2_000)
    library = {
        "xgboost": lambda a: models.xgboost.inplace_predict(a),
        "random_forest": lambda a: models._rf.proba(a, 1),
        "isolation_forest": lambda a: models._if.anomaly(a, 1),
    }
    backends: dict[str, dict[str, Callable[[np.ndarray], np.ndarray]]] = {"library": library}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, make in (
            ("converters+onnxruntime", lambda: _converters(models, x.shape[1])),
            ("treelite_gtil", lambda: _treelite(models)),
        ):
            try:
                backends[name] = make()
            except ImportError as e:  # the bench extra is not installed
                backends[name] = {"error": str(e)}  # type: ignore[dict-item]
    out: dict[str, Any] = {}
    for name, fns in backends.items():
        if "error" in fns:
            out[name] = fns
            continue
        out[name] = {
            model: {
                "us_per_call": {str(b): _us(f, np.ascontiguousarray(x[:b]), seconds) for b in BATCHES},
                "max_abs_diff": float(np.abs(f(x) - library[model](x)).max()),
            }
            for model, f in fns.items()
        }
    compiled = models.compiled
    if compiled is not None:
        out["fraudguard_graph"] = {
            "all_three": {
                "us_per_call": {str(b): _us(lambda a: compiled.scores(a, models.calibration), np.ascontiguousarray(x[:b]), seconds) for b in BATCHES},
                "max_abs_diff": float(np.abs(compiled.scores(x, models.calibration) - models.library_scores(x)).max()),
            }
        }  # fmt: skip
    return {"backends": out, "rows": len(x), "note": "single thread per call; compiled graph at >=4,096 rows uses two"}
