"""The plain-Python paths for small batches give exactly the pandas paths' values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudguard.features import stateless
from fraudguard.features.stateless import SMALL_BATCH, _categories, hash_id, hash_ids, prepare
from fraudguard.features.steps import _factorize
from tests.unit.features.helpers import random_stream


def test_small_hashes_equal_pandas_hashes() -> None:
    ids = np.array(["m1", "dévice-ü", "", "m1", "x" * 300], dtype=object)
    stateless._HASHES.clear()
    first = hash_ids(ids)
    again = hash_ids(ids)  # now from the cache
    expected = pd.util.hash_array(ids)
    assert first.dtype == np.uint64
    assert (first == expected).all() and (again == expected).all()
    assert hash_ids(np.array([None, "m1"], dtype=object)).tolist() == [0, int(expected[0])]


def test_one_id_hash_equals_pandas_hash() -> None:
    """``hash_id`` (the one-transaction path's hash, with its own SipHash call) == ``pd.util.hash_array``."""
    rng = np.random.default_rng(4)
    alphabet = [*"abcXYZ019-_:/ ", "é", "ü", "ß", "漢", "😀", "\x00"]
    ids = ["", "m1", "x" * 500] + ["".join(rng.choice(alphabet, rng.integers(1, 40))) for _ in range(3000)]
    stateless._HASHES.clear()
    got = [hash_id(v) for v in ids] + [hash_id(v) for v in ids]  # new, then cached
    want = pd.util.hash_array(np.array(ids, dtype=object)).tolist()
    assert got == want + want
    assert hash_id(None) == 0 and hash_id(12) == int(pd.util.hash_array(np.array([12], dtype=object))[0])


def test_small_categories_and_factorize_equal_pandas() -> None:
    cats = np.array(["travel", "nope", None, np.nan, "grocery", "travel"], dtype=object)
    big = np.concatenate([cats] * (SMALL_BATCH // len(cats) + 1))
    assert _categories(cats).tolist() == _categories(big)[: len(cats)].tolist()
    ids = np.array(["c3", "c1", "c3", "c2", "c1"], dtype=object)
    codes, uniq = _factorize(ids)
    ref_codes, ref_uniq = pd.factorize(ids)
    assert codes.tolist() == ref_codes.tolist() and uniq.tolist() == ref_uniq.tolist()
    codes, uniq = _factorize(np.array([5, 2, 5], np.intp))
    assert codes.tolist() == [0, 1, 0] and uniq.dtype == np.intp and uniq.tolist() == [5, 2]


def test_prepare_row_by_row_equals_whole_batch() -> None:
    df = random_stream(200, seed=3)
    whole = prepare(df)
    rows = [prepare(df.iloc[i : i + 1]) for i in range(len(df))]
    for name in whole.__dataclass_fields__:
        got = np.concatenate([getattr(r, name) for r in rows])
        np.testing.assert_array_equal(got, getattr(whole, name), err_msg=name)
