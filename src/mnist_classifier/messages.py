"""Messages and log lines people read: errors told in one line, and what a script's
trainings leave behind."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails


def first_line(error: BaseException, limit: int = 200) -> str:
    """The first line of ``error``'s message, at most ``limit`` characters, or its
    type's name when the message is empty (``str(error)`` of ``OSError()``, say)."""
    lines = str(error).strip().splitlines()
    return (lines[0][:limit] if lines else "") or type(error).__name__


def field_problem(problem: ErrorDetails, whole: str = "the whole") -> str:
    """One of Pydantic's validation problems (FastAPI's too) in one line: the field's
    dotted path, or ``whole`` where it names none, then what is wrong with it."""
    where = ".".join(map(str, problem["loc"])) or whole
    return f"{where}: {problem['msg']}"


def latest_model(version: str, made_by: str) -> str:
    """What a script that trains says at its end: each training saved a new version of
    the classifier, the last (``version``, made by ``made_by``) is the one inference
    now reads, and how to read another."""
    return (
        "Each training saved a new version of the classifier, so the latest, which "
        f"`kedro run --pipelines inference` reads, is now {version} ({made_by}): "
        "`kedro run` trains the default again, and `--load-versions "
        "classifier:<version>` reads another."
    )
