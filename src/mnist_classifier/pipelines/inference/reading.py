"""Reading one file: its bytes decoded, then one digit or a number, ready for the model.

``prepare`` is what every way in shares (the inference pipeline, the served model, the
page): a file becomes the 28x28 views its digits make, MNIST-style, or a status that
says why it cannot be read. An image holds one digit (``preprocessing.digit_view``) or
several side by side (``numbers.find_candidates``), as ``inference.layout`` says; a
number's digits are then chosen among its candidates with the model's reading of them
(``settle``), where the model runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import signal
import threading
from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np

from mnist_classifier.params import InferenceParams, Layout

from .numbers import Lattice, choose, find_candidates, layout_of
from .preprocessing import (
    UnusableImageError,
    digit_view,
    read_image,
    thumbnail,
    to_grayscale,
)

Box = tuple[float, float, float, float]
#: A file's loader (a partition's): it returns the file's bytes.
Loader = Callable[[], bytes]


class PreparedImage(NamedTuple):
    """One file, ready for the model: the 28x28 view of each digit, or why none.

    A number, until ``settle`` chooses its digits, holds the views and boxes of all
    its candidate digits and how they fit together (``lattices``).
    """

    views: tuple[np.ndarray, ...]  # 28x28 uint8, light on black, left to right
    status: str  # "ok", or why the file cannot be classified (then no views)
    thumbnail: np.ndarray | None = None  # small RGBA copy for the contact sheet
    # Where each digit of a number is, as fractions of the image's width and height
    # (left, top, right, bottom); empty for an image read as one digit.
    boxes: tuple[Box, ...] = ()
    lattices: tuple[Lattice, ...] = ()  # a number's, until its digits are chosen

    @property
    def view(self) -> np.ndarray | None:
        """What the model saw, side by side for a number; None if nothing."""
        return np.hstack(self.views) if self.views else None


def settle(
    item: PreparedImage, probabilities: np.ndarray
) -> tuple[PreparedImage, np.ndarray]:
    """A number's digits, chosen among its candidates with the model's reading of
    each (``numbers.choose``): the file with only their views and boxes, and their
    rows of ``probabilities`` (one row per view of ``item``). A single digit, or a
    file with no views, is as it was."""
    if not item.lattices:
        return item, probabilities
    keep = choose(item.lattices, probabilities)
    digits = item._replace(
        views=tuple(item.views[i] for i in keep),
        boxes=tuple(item.boxes[i] for i in keep),
        lattices=(),
    )
    return digits, probabilities[keep]


class FileTimeoutError(BaseException):
    """A file took longer than its time limit. A ``BaseException``, as
    ``KeyboardInterrupt`` is, so that no ``except Exception`` in a decoder holds it."""


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Interrupts what runs inside with ``FileTimeoutError`` after ``seconds``.

    A timer signal does it, so the limit holds in a process's main thread (the
    pipeline's worker processes, a run in-process); elsewhere there is none (see
    ``prepare`` for threads). Pillow decodes in chunks and hands back to Python between
    them, where the signal is seen.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise FileTimeoutError

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def within(seconds: float, work: Callable[[], PreparedImage]) -> PreparedImage:
    """``work()`` in a thread of its own, abandoned after ``seconds``: the time limit
    where no signal can be had (a Dask worker runs its tasks off the main thread).

    An abandoned thread gets ``FileTimeoutError`` raised in it, which stops it at its
    next Python step (slow decoding); one blocked inside the operating system (a hung
    network mount) stays blocked, but the caller goes on.

    Raises:
        FileTimeoutError: If ``work`` took longer than ``seconds``.
    """
    outcome: list[PreparedImage | BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except FileTimeoutError:  # abandoned: nobody waits for it any more
            pass
        except BaseException as error:  # handed to the caller, to raise
            outcome.append(error)

    thread = threading.Thread(target=run, name="read-one-file", daemon=True)
    thread.start()
    thread.join(seconds)
    if not outcome:
        if thread.is_alive():  # a finished thread's id may be another thread's now
            _interrupt(thread)
        raise FileTimeoutError
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _interrupt(thread: threading.Thread) -> None:
    """Raises ``FileTimeoutError`` in ``thread`` at its next Python step."""
    ident = ctypes.c_ulong(thread.ident)
    hit = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ident, ctypes.py_object(FileTimeoutError)
    )
    if hit > 1:  # CPython's documented undo: it must reach that one thread only
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ident, None)


def prepare(
    loader: Loader,
    with_thumbnail: bool,
    *,
    max_pixels: int,
    layout: Layout = "auto",
    seconds: float | None = None,
) -> PreparedImage:
    """Reads one file and makes its digits' MNIST-style views; a bad file gets a status.

    Args:
        loader: The file's loader (a partition's): it returns the file's bytes.
        with_thumbnail: Whether to keep a small copy of the image for display.
        max_pixels: Files declaring more pixels are refused before being decoded.
        layout: ``digit``, ``number``, or ``auto``: a number only where the image
            clearly holds several digits side by side, so that an image of one digit
            is read exactly as it was before numbers were.
        seconds: The time one file may take, read to views; then it is ``timed out``.
            In a main thread a timer signal enforces it; elsewhere the file is read
            in a thread of its own (``within``).
    """
    work = functools.partial(_prepare, loader, with_thumbnail, max_pixels, layout)
    try:
        if seconds and threading.current_thread() is not threading.main_thread():
            return within(seconds, work)
        with time_limit(seconds):
            return work()
    except FileTimeoutError:
        return PreparedImage((), "timed out")


def preparer(
    inference: InferenceParams, *, with_thumbnail: bool
) -> Callable[[Loader], PreparedImage]:
    """``prepare`` with the run's limits and layout (picklable, for the workers)."""
    return functools.partial(
        prepare,
        with_thumbnail=with_thumbnail,
        max_pixels=inference.max_pixels,
        layout=inference.layout,
        seconds=inference.time_limit,
    )


def prepare_each(
    work: Callable[[Loader], PreparedImage],
    loaders: list[Loader],
) -> list[PreparedImage]:
    """``work`` (``prepare`` with its settings) on each file: a worker process's
    chunk, in the module the workers' server imports before it forks them."""
    return [work(load) for load in loaders]


def _prepare(
    loader: Loader, with_thumbnail: bool, max_pixels: int, layout: Layout
) -> PreparedImage:
    try:
        # A thumbnail keeps the colours its owner sees; the digits need none.
        image = read_image(loader, max_pixels, gray=not with_thumbnail)
    except UnusableImageError as error:
        return PreparedImage((), str(error))
    small = thumbnail(image) if with_thumbnail else None
    try:
        gray = to_grayscale(image)
        if layout_of(gray, layout) == "digit":
            return PreparedImage((digit_view(gray),), "ok", small)
        candidates = find_candidates(gray)
        if not candidates.digits:
            raise UnusableImageError("empty image")
    except UnusableImageError as error:
        return PreparedImage((), str(error), small)
    width, height = gray.size
    boxes = tuple(
        (left / width, top / height, right / width, bottom / height)
        for left, top, right, bottom in (digit.box for digit in candidates.digits)
    )
    views = tuple(digit.view for digit in candidates.digits)
    return PreparedImage(views, "ok", small, boxes, candidates.lattices)
