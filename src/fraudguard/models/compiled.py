"""The three base models compiled into one ONNX graph, run by ONNX Runtime.

Why: one transaction must be decided in well under a millisecond. XGBoost's
``inplace_predict`` costs ~150 µs per call and the scikit-learn forests ~50-70 µs each even
through leaf tables (:mod:`fraudguard.models.leaves`); one ONNX Runtime call that walks all
three ensembles costs ~15 µs. ONNX Runtime is a wheel: nothing is compiled at run time.

Why not the converters: measured on the benchmark model (README, "Compiled inference"),
skl2onnx's Random Forest differed by up to 0.36 on 7,823 of 10,000 rows (it rounds
scikit-learn's float64 thresholds to float32, which moves rows lying between two float32
values) and its Isolation Forest graph took 120 µs per row; treelite's GTIL is exact but
slower than the libraries at every batch size. So the graph is built here, straight from
the fitted trees, with float64 thresholds and leaf values (input is cast to float64 inside
the graph, which is exact), and the same missing-value rules as the libraries:

* XGBoost: ``x < split`` goes left, a missing value follows ``default_left``; the graph
  returns the margin, the sigmoid is applied here;
* scikit-learn: ``x <= threshold`` goes left, a missing value follows ``missing_go_to_left``;
  leaf values are the tables of :mod:`fraudguard.models.leaves` (Random Forest fraud
  fraction, Isolation Forest path length), summed; the mean and ``2 ** -(...)`` are here.

Sessions use one thread and sum trees in a fixed order, so a row's score does not depend on
its batch; large batches are split in two halves scored on two threads (ONNX Runtime
releases the GIL). Scores equal the libraries' within 1e-5 (unit test on 10,000 rows).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xgboost as xgb

from fraudguard.errors import ModelError

OPSET_ML = 5
OPSET = 17
OUTPUTS: tuple[str, ...] = ("xgboost_margin", "random_forest_sum", "isolation_forest_path")
PARALLEL_MIN_ROWS = 4096
"""Batches at least this large are split in two halves scored on two threads."""


MODES = {"BRANCH_LEQ": 0, "BRANCH_LT": 1}
"""``nodes_modes`` codes of ``ai.onnx.ml.TreeEnsemble`` (opset 5)."""


@dataclass
class _Nodes:
    """One tree ensemble in the attribute layout of ONNX's ``TreeEnsemble`` (``ai.onnx.ml`` opset 5).

    Opset 5 is the version whose output keeps the input's type (float64 here); interior
    nodes and leaves are numbered separately and each branch says which kind it points to.
    """

    roots: list[int] = field(default_factory=list)
    feature: list[int] = field(default_factory=list)
    split: list[float] = field(default_factory=list)
    mode: list[int] = field(default_factory=list)
    true: list[int] = field(default_factory=list)
    false: list[int] = field(default_factory=list)
    true_leaf: list[int] = field(default_factory=list)
    false_leaf: list[int] = field(default_factory=list)
    missing_true: list[int] = field(default_factory=list)
    leaf_weight: list[float] = field(default_factory=list)

    def add_tree(
        self,
        left: np.ndarray,
        right: np.ndarray,
        feature: np.ndarray,
        threshold: np.ndarray,
        missing_left: np.ndarray,
        leaf_value: np.ndarray,
        branch: str,
    ) -> None:
        """Append one tree given as node arrays (node 0 the root, ``left < 0`` at leaves)."""
        mode = MODES[branch]
        if left[0] < 0:  # a lone leaf: one split whose both branches reach it
            leaf = len(self.leaf_weight)
            self.leaf_weight.append(float(leaf_value[0]))
            self.roots.append(len(self.feature))
            self.feature.append(0)
            self.split.append(0.0)
            self.mode.append(mode)
            self.true.append(leaf)
            self.false.append(leaf)
            self.true_leaf.append(1)
            self.false_leaf.append(1)
            self.missing_true.append(0)
            return
        index: dict[int, int] = {}
        n_inner, n_leaf = len(self.feature), len(self.leaf_weight)
        for nid in range(left.size):
            if left[nid] < 0:
                index[nid] = n_leaf
                n_leaf += 1
                self.leaf_weight.append(float(leaf_value[nid]))
            else:
                index[nid] = n_inner
                n_inner += 1
        self.roots.append(index[0])
        for nid in range(left.size):
            if left[nid] < 0:
                continue
            a, b = int(left[nid]), int(right[nid])
            self.feature.append(int(feature[nid]))
            self.split.append(float(threshold[nid]))
            self.mode.append(mode)
            self.true.append(index[a])
            self.false.append(index[b])
            self.true_leaf.append(int(left[a] < 0))
            self.false_leaf.append(int(left[b] < 0))
            self.missing_true.append(int(bool(missing_left[nid])))

    def node_proto(self, output: str) -> Any:
        """The ``TreeEnsemble`` node summing the trees of this ensemble for input ``xd``."""
        from onnx import helper, numpy_helper

        return helper.make_node(
            "TreeEnsemble",
            ["xd"],
            [output],
            domain="ai.onnx.ml",
            name=output,
            aggregate_function=1,  # SUM
            post_transform=0,  # NONE
            n_targets=1,
            tree_roots=self.roots,
            nodes_featureids=self.feature,
            nodes_splits=numpy_helper.from_array(np.asarray(self.split, np.float64)),
            nodes_modes=numpy_helper.from_array(np.asarray(self.mode, np.uint8)),
            nodes_truenodeids=self.true,
            nodes_falsenodeids=self.false,
            nodes_trueleafs=self.true_leaf,
            nodes_falseleafs=self.false_leaf,
            nodes_missing_value_tracks_true=self.missing_true,
            leaf_targetids=[0] * len(self.leaf_weight),
            leaf_weights=numpy_helper.from_array(np.asarray(self.leaf_weight, np.float64)),
        )


def _xgboost_nodes(booster: xgb.Booster) -> tuple[_Nodes, float]:
    """Trees and base margin of a ``binary:logistic`` booster (numeric splits only)."""
    model = json.loads(bytes(booster.save_raw("json")))
    learner = model["learner"]
    objective = learner["objective"]["name"]
    if objective != "binary:logistic":
        raise ModelError(f"cannot compile an XGBoost model with objective {objective!r}")
    gb = learner["gradient_booster"]
    if gb.get("name", "gbtree") != "gbtree":
        raise ModelError(f"cannot compile an XGBoost {gb.get('name')!r} booster")
    raw_base = str(learner["learner_model_param"]["base_score"]).strip("[]").split(",")[0]
    p = np.float32(float(raw_base))
    base = float(-np.log(np.float32(1.0) / p - np.float32(1.0)))  # XGBoost's ProbToMargin, in float32
    nodes = _Nodes()
    for tree in gb["model"]["trees"]:
        if tree.get("categories_nodes"):
            raise ModelError("categorical XGBoost splits cannot be compiled")
        left = np.asarray(tree["left_children"], np.intp)
        cond = np.asarray(tree["split_conditions"], np.float32).astype(np.float64)
        nodes.add_tree(
            left,
            np.asarray(tree["right_children"], np.intp),
            np.asarray(tree["split_indices"], np.intp),
            cond,
            np.asarray(tree["default_left"], bool),
            cond,  # a leaf's value is stored in its split condition
            "BRANCH_LT",
        )
    return nodes, base


def _forest_nodes(trees: tuple[object, ...], tables: tuple[np.ndarray, ...], subsets: tuple[Any, ...]) -> _Nodes:
    """scikit-learn trees with per-node values (the leaf tables), feature subsets mapped back."""
    nodes = _Nodes()
    for tree, table, cols in zip(trees, tables, subsets, strict=True):
        feature = np.asarray(tree.feature, np.intp)  # type: ignore[attr-defined]
        if cols is not None:
            feature = np.where(feature >= 0, np.asarray(cols)[np.maximum(feature, 0)], feature)
        nodes.add_tree(
            np.asarray(tree.children_left, np.intp),  # type: ignore[attr-defined]
            np.asarray(tree.children_right, np.intp),  # type: ignore[attr-defined]
            feature,
            np.asarray(tree.threshold, np.float64),  # type: ignore[attr-defined]
            np.asarray(tree.missing_go_to_left, bool),  # type: ignore[attr-defined]
            np.asarray(table, np.float64),
            "BRANCH_LEQ",
        )
    return nodes


def compile_models(models: Any) -> bytes:
    """Serialized ONNX graph of ``models`` (:class:`~fraudguard.models.estimators.BaseModels`).

    Input ``x``: float32 ``(n, n_features)``; outputs (float64, ``(n, 1)``): see :data:`OUTPUTS`.
    """
    from onnx import TensorProto, checker, helper, numpy_helper

    xgb_nodes, base = _xgboost_nodes(models.xgboost)
    rf, iso = models._rf.forest, models._if.forest
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["x"], ["xd"], to=TensorProto.DOUBLE),
            xgb_nodes.node_proto("xgboost_leaves"),
            helper.make_node("Add", ["xgboost_leaves", "xgboost_base"], [OUTPUTS[0]]),
            _forest_nodes(rf.trees, rf.tables, rf.features).node_proto(OUTPUTS[1]),
            _forest_nodes(iso.trees, iso.tables, iso.features).node_proto(OUTPUTS[2]),
        ],
        "fraudguard_base_models",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, models.n_features])],
        [helper.make_tensor_value_info(o, TensorProto.DOUBLE, [None, 1]) for o in OUTPUTS],
        initializer=[numpy_helper.from_array(np.array([base], np.float64), "xgboost_base")],
    )
    onnx_model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", OPSET_ML)],
        producer_name="fraudguard",
    )
    onnx_model.ir_version = 10
    checker.check_model(onnx_model)
    return bytes(onnx_model.SerializeToString())


class CompiledModels:
    """An ONNX Runtime session over :func:`compile_models` output, plus the post-processing."""

    def __init__(self, onnx_bytes: bytes, n_features: int, n_rf_trees: int, if_denominator: float) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(onnx_bytes, opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own untyped errors
            raise ModelError(f"cannot load the compiled models: {e}") from e
        self.n_features = n_features
        self.rf_trees = float(n_rf_trees)
        self.if_denominator = float(if_denominator)
        self._pool: ThreadPoolExecutor | None = None

    @property
    def session(self) -> Any:
        """The ONNX Runtime session (``models/single.py`` binds one row's buffers to it)."""
        return self._session

    @classmethod
    def of(cls, models: Any, onnx_bytes: bytes | None = None) -> CompiledModels:
        """A session for ``models``; compiles them when ``onnx_bytes`` is not given."""
        blob = onnx_bytes if onnx_bytes is not None else compile_models(models)
        return cls(blob, models.n_features, len(models._rf.forest.trees), models._if.denominator)

    def _run(self, x: np.ndarray) -> list[np.ndarray]:
        return self._session.run(None, {"x": x})  # type: ignore[no-any-return]

    def raw(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """XGBoost margin, Random Forest leaf sum, Isolation Forest path-length sum per row."""
        if x.dtype != np.float32 or not x.flags.c_contiguous or x.ndim != 2 or x.shape[1] != self.n_features:
            raise ModelError(f"compiled models need a C-contiguous float32 (n, {self.n_features}) matrix")
        n = x.shape[0]
        if n >= PARALLEL_MIN_ROWS:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fraudguard-onnx")
            half = n // 2
            a = self._pool.submit(self._run, x[:half])
            tail = self._run(x[half:])
            parts = [np.concatenate([h, t]) for h, t in zip(a.result(), tail, strict=True)]
        else:
            parts = self._run(x)
        return parts[0][:, 0], parts[1][:, 0], parts[2][:, 0]

    def scores(self, x: np.ndarray, calibration: Any) -> np.ndarray:
        """``(n, 3)`` fraud scores as :meth:`BaseModels.scores` returns them."""
        margin, rf_sum, if_sum = self.raw(x)
        out = np.empty((x.shape[0], 3), dtype=np.float64)
        out[:, 0] = 1.0 / (1.0 + np.exp(-margin))
        out[:, 1] = rf_sum / self.rf_trees
        anomaly = np.ones(x.shape[0]) if self.if_denominator == 0 else np.exp2(-if_sum / self.if_denominator)
        out[:, 2] = calibration(anomaly)
        return out
