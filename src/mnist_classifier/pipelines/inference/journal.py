"""What the runs of a folder have read: which files a run reads, and the folder's answers.

Each run adds its rows to the folder's journal (catalog: ``classified_files``) batch by
batch, each row with the file's stamp (``FileStampDataset``), the model version and the
layout that made it, and the run's number (``RUN``). A row still answers for its file
while all three hold; a file without one (new, changed, read by another model or
layout, or ``retried``: "timed out", "too large" or "not read: ..." last time) is read
again. Where several rows hold for a file (read again by ``inference.redo``, say), an
answer wins over a ``retried`` status, then the newest run's row: the journal's batch
files are named by what they read, not in the order they were written.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from .preprocessing import NOT_READ

#: Columns the journal adds to a prediction row, to tell whether it still holds.
KEY = ["stamp", "model_version", "layout"]
#: The column numbering a folder's runs 1, 2, ...: which of two holding rows is newer.
RUN = "run"
#: Statuses worth another try: the file may read in time when the machine is idle, or
#: be admitted by a higher ``inference.max_pixels`` (it costs its header to find out);
#: so are those starting ``NOT_READ``.
RETRIED = frozenset({"timed out", "too large"})


def retried(statuses: pd.Series) -> pd.Series:
    """Which of the statuses are worth another try (``RETRIED``, ``NOT_READ``)."""
    return statuses.isin(RETRIED) | statuses.astype(str).str.startswith(f"{NOT_READ}:")


@dataclass(frozen=True)
class FolderPlan:
    """One run's plan for a folder: its files, their stamps, and which to read.

    Attributes:
        files: Every file of the folder the run answers for, sorted.
        stamps: Each file's stamp; ``None`` where it has none (it is read each time).
        model_version: The version of the model that reads them (``None``: not
            versioned).
        layout: What each image is read as (``digit``, ``number`` or ``auto``).
        to_read: The files to read in this run, sorted.
        run: This run's number: one more than any in the folder's journal.
    """

    files: tuple[str, ...]
    stamps: Mapping[str, str | None]
    model_version: str | None
    layout: str
    to_read: tuple[str, ...]
    run: int = 1

    def keyed(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The rows of a batch just read, with what tells whether they still hold
        and which run wrote them."""
        return rows.assign(
            stamp=[self.stamps[name] for name in rows["image"]],
            model_version=self.model_version,
            layout=self.layout,
            **{RUN: self.run},
        )

    def batch_name(self, names: Iterable[str]) -> str:
        """A name for a batch's journal file, the same whenever the same files, as
        they are now, are read by the same model and layout in the same run: a later
        run (``inference.redo``) adds rows beside it, never replaces them."""
        text = f"{self.run}|{self.model_version}|{self.layout}|" + "|".join(
            f"{name}:{self.stamps[name]}" for name in names
        )
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def describe(self, folder: str) -> str:
        """One line for the log: how much of the folder this run reads, and why."""
        kept = len(self.files) - len(self.to_read)
        return (
            f"'{folder}': {len(self.files)} files; reading {len(self.to_read)}"
            + (
                f", {kept} already read by model version {self.model_version} "
                f"(layout {self.layout}) and unchanged since"
                if kept
                else ""
            )
            + "."
        )


def plan_reading(
    files: list[str],
    stamps: Mapping[str, str | None],
    journal: pd.DataFrame,
    model_version: str | None,
    layout: str,
    *,
    redo: bool = False,
) -> FolderPlan:
    """Plans a run: the files without a row that still holds are read, or all if
    ``redo``."""
    journal = _numbered(journal)
    run = int(journal[RUN].max()) + 1 if len(journal) else 1
    plan = FolderPlan(tuple(files), dict(stamps), model_version, layout, (), run)
    holding = _holding(journal, plan)
    done = set() if redo else set(holding["image"][~retried(holding["status"])])
    to_read = tuple(name for name in files if name not in done or stamps[name] is None)
    return dataclasses.replace(plan, to_read=to_read)


def folder_predictions(journal: pd.DataFrame, plan: FolderPlan) -> pd.DataFrame:
    """The folder's predictions: for each of its files, in order, the row that holds.

    Raises:
        ValueError: If a file has no such row (the journal lost a batch the run wrote).
    """
    rows = _holding(_numbered(journal), plan).reset_index(drop=True)
    order = pd.DataFrame({"retried": retried(rows["status"]), "run": rows[RUN]})
    # An answer before a retried status, whichever is newer; then the newest run's.
    newest = order.sort_values(
        ["retried", "run"], ascending=[True, False], kind="stable"
    )
    rows = rows.loc[newest.index].drop_duplicates("image")
    missing = sorted(set(plan.files) - set(rows["image"]))
    if missing:
        raise ValueError(
            f"The journal of this folder has no row for {len(missing)} of its files "
            f"(first: '{missing[0]}'): run again with --params inference.redo=true."
        )
    return (
        rows.set_index("image")
        .loc[list(plan.files)]
        .reset_index()
        .drop(columns=["stamp", "layout", RUN])
    )


def _holding(journal: pd.DataFrame, plan: FolderPlan) -> pd.DataFrame:
    """The (``_numbered``) journal's rows made from a file of the plan as it is now,
    by its model and layout (a file without a stamp matches its rows without one: it
    is read each run, see ``plan_reading``)."""
    if journal.empty:
        return journal.reindex(columns=["image", "status", *KEY, RUN])
    now = pd.DataFrame(
        {
            "image": list(plan.files),
            "stamp": [plan.stamps[name] for name in plan.files],
            "model_version": plan.model_version,
            "layout": plan.layout,
        },
        dtype=object,
    )
    return journal.astype({column: object for column in KEY}).merge(
        now, on=["image", *KEY]
    )


def _numbered(journal: pd.DataFrame) -> pd.DataFrame:
    """The journal with every row's run number; rows of journals written before runs
    were numbered have none, and count as older than any (0)."""
    return journal.assign(**{RUN: journal[RUN].fillna(0) if RUN in journal else 0})
