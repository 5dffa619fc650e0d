"""Integers from text a client sent (query strings, form fields, headers, tokens).

``str.isdigit()`` holds for "²" and "٣" (which ``int()`` refuses or reads as another number)
and for 5,000-digit strings (which ``int()`` refuses past sys.int_max_str_digits): checks built
on it answered 500. One helper reads ASCII digits only, within bounds, and says None otherwise.
"""

# Larger than any id, size or timestamp we read; small enough for a 64-bit column.
INT_MAX = 2**63 - 1


def int_from_text(value: str | None, *, minimum: int = 0, maximum: int = INT_MAX) -> int | None:
    """``value`` as an int when it is ASCII digits only (no sign, space or other numerals) and
    within ``minimum``..``maximum``; None otherwise."""
    if not value or len(value) > 19 or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if minimum <= number <= maximum else None
