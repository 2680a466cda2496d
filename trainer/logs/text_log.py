"""``debug.log``: the experiment's text log, appended to by every process of the experiment."""

from __future__ import annotations

import os
from typing import IO


class TextLog:
    """Appends lines to a UTF-8 text file, flushing each so a crash loses none.

    Args:
        path: Local path of the file; it and its directory are created on first write.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._file: IO[str] | None = None

    @property
    def path(self) -> str:
        """Local path of the file."""
        return self._path

    def write_line(self, line: str) -> None:
        """Append ``line`` and a newline.

        Args:
            line: The text; it may itself contain newlines.
        """
        if self._file is None:
            os.makedirs(os.path.dirname(self._path) or ".", exist_ok=True)
            self._file = open(self._path, "a", encoding="utf-8")  # noqa: SIM115
        self._file.write(line + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file; a later write reopens it. Safe to call more than once."""
        if self._file is not None:
            self._file.close()
        self._file = None
