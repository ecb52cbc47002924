"""Errors told in one line, for the messages and log lines people read."""

from __future__ import annotations


def first_line(error: BaseException, limit: int = 200) -> str:
    """The first line of ``error``'s message, at most ``limit`` characters, or its
    type's name when the message is empty (``str(error)`` of ``OSError()``, say)."""
    lines = str(error).strip().splitlines()
    return (lines[0][:limit] if lines else "") or type(error).__name__
