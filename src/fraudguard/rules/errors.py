"""The one error a rule condition can raise: what is wrong and where (line, column)."""

from __future__ import annotations

from fraudguard.errors import ValidationError


class RuleError(ValidationError):
    """A rule condition is refused; ``line`` and ``col`` (1-based) locate the offending part.

    A subclass of :class:`~fraudguard.errors.ValidationError` so the API answers 422 with
    the field (``condition``) and the message, like any other bad input.
    """

    def __init__(self, message: str, line: int = 1, col: int = 1, field: str = "condition") -> None:
        super().__init__(field, f"line {line}, column {col}: {message}")
        self.message, self.line, self.col = message, line, col
