"""The bracket-count shortcut of ``check_depth`` accepts and refuses exactly what measuring would."""

from __future__ import annotations

import pytest

from fraudguard.errors import ValidationError
from fraudguard.json_guard import check_depth, json_depth

PAYLOADS = [
    b'{"a":1,"extras":{}}',
    b'{"a":"[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{"}',  # many brackets, all in a string: depth 1
    b'{"a":"\\"[[[[[[[[[[[[[[[[[[[["}',
    b"[" * 16 + b"]" * 16,
    b"[" * 17 + b"]" * 17,
    b"{" * 40,  # malformed and deep
    b'{"a":[{"b":[{"c":[]}]}]}',
    b"",
    "{" + '"x":[' * 20 + "]" * 20 + "}",
    memoryview(b'{"k":[[[]]]}'),
    bytearray(b"[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]"),
]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("max_depth", [1, 2, 16])
def test_check_depth_agrees_with_the_measured_depth(payload, max_depth: int) -> None:
    deep = json_depth(payload) > max_depth
    if deep:
        with pytest.raises(ValidationError):
            check_depth(payload, max_depth)
    else:
        check_depth(payload, max_depth)
