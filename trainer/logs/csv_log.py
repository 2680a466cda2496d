"""``progress.csv``: one row per dump, appended across processes and resumes.

dowel opened the file in write mode (a resumed run erased its history) and fixed the columns at
the first dump (later keys were dropped with a warning). Here the file is only ever appended to,
except for two whole-file rewrites, each written to a temporary file and renamed over the old
one: when a row brings a new key (the header becomes the union, older rows get empty cells) and
when :meth:`ProgressCsv.truncate_after` drops rows of epochs that will be re-run.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Mapping
from typing import IO, Any

_log = logging.getLogger("trainflow")


class ProgressCsv:
    """Appends tabular rows to a CSV file whose header grows with new keys.

    Nothing is touched until the first call; the existing header is then read from the file, so
    a second instance (a resumed process) continues the same columns.

    Args:
        path: Local path of the CSV file; its directory is created on first write.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._fieldnames: list[str] = []
        self._known: set[str] = set()
        self._file: IO[str] | None = None
        self._writer: Any = None  # csv's writer type is private (_csv.writer)

    @property
    def path(self) -> str:
        """Local path of the CSV file."""
        return self._path

    @property
    def fieldnames(self) -> list[str]:
        """The header, in first-seen order (read from the file on first use)."""
        self._open()
        return list(self._fieldnames)

    def append(self, row: Mapping[str, float | int | str]) -> None:
        """Append one row; keys missing from it are written as empty cells.

        Args:
            row: The row; keys not in the header yet extend it (the file is rewritten once).
        """
        self._open()
        new_keys = [key for key in row if key not in self._known]
        if new_keys:
            if self._fieldnames:
                self._rewrite(self._fieldnames + new_keys, self._read_rows())
            else:
                self._set_fieldnames(new_keys)
                self._writer.writerow(self._fieldnames)
        self._writer.writerow([row.get(key, "") for key in self._fieldnames])
        self._file.flush()

    def read_rows(self) -> list[dict[str, str]]:
        """Return every data row as a dict keyed by the header (cells are strings)."""
        self._open()
        return [dict(zip(self._fieldnames, cells)) for cells in self._read_rows()]

    def truncate_after(self, epoch: int, epoch_key: str = "Epoch") -> list[dict[str, str]]:
        """Drop the rows whose ``epoch_key`` cell is greater than ``epoch``.

        Rows with an empty or non-numeric cell are kept: nothing says they belong to a later
        epoch.

        Args:
            epoch: The last epoch to keep (the restored snapshot's epoch).
            epoch_key: Column holding the epoch, ``"Epoch"`` by default.

        Returns:
            The rows that were dropped (empty if the file was left untouched).
        """
        if self._file is None and not os.path.exists(self._path):
            return []
        self._open()
        if epoch_key not in self._known:
            return []
        column = self._fieldnames.index(epoch_key)
        kept: list[list[str]] = []
        dropped: list[list[str]] = []
        for cells in self._read_rows():
            row_epoch = _parse_number(cells[column] if column < len(cells) else "")
            (dropped if row_epoch is not None and row_epoch > epoch else kept).append(cells)
        if dropped:
            self._rewrite(self._fieldnames, kept)
        return [dict(zip(self._fieldnames, cells)) for cells in dropped]

    def flush(self) -> None:
        """Flush buffered rows to the operating system."""
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        """Close the file; a later call reopens it. Safe to call more than once."""
        if self._file is not None:
            self._file.close()
        self._file = None
        self._writer = None

    def _open(self) -> None:
        if self._file is not None:
            return
        os.makedirs(os.path.dirname(self._path) or ".", exist_ok=True)
        self._drop_partial_last_line()
        header: list[str] = []
        if os.path.exists(self._path):
            with open(self._path, newline="", encoding="utf-8") as file:
                header = next(csv.reader(file), [])
        self._set_fieldnames(header)
        self._file = open(self._path, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._file, lineterminator="\n")

    def _set_fieldnames(self, fieldnames: list[str]) -> None:
        self._fieldnames = list(fieldnames)
        self._known = set(fieldnames)

    def _read_rows(self) -> list[list[str]]:
        self._file.flush()
        with open(self._path, newline="", encoding="utf-8") as file:
            rows = list(csv.reader(file))
        return rows[1:]

    def _rewrite(self, fieldnames: list[str], rows: list[list[str]]) -> None:
        self.close()
        width = len(fieldnames)
        tmp_path = f"{self._path}.tmp"
        with open(tmp_path, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(fieldnames)
            writer.writerows(cells + [""] * (width - len(cells)) for cells in rows)
        os.replace(tmp_path, self._path)
        self._set_fieldnames(fieldnames)
        self._file = open(self._path, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._file, lineterminator="\n")

    def _drop_partial_last_line(self) -> None:
        # A process killed mid-write leaves half a row; appending to it would merge two rows.
        try:
            with open(self._path, "rb+") as file:
                size = file.seek(0, os.SEEK_END)
                if size == 0:
                    return
                file.seek(size - 1)
                if file.read(1) == b"\n":
                    return
                file.seek(0)
                data = file.read()
                keep = data.rfind(b"\n") + 1
                file.truncate(keep)
        except FileNotFoundError:
            return
        _log.warning("%s ended with an incomplete row (%d bytes, from an interrupted write); "
                     "it was removed", self._path, size - keep)


def _parse_number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None
