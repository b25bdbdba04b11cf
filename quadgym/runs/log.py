"""A run directory's metrics: ``metrics.csv`` and TensorBoard events, positioned by budget.

Every record a plugin makes carries its absolute position (``"step"``, the budget
consumed in the plugin's unit); a row is that position plus the record's
numbers. Reopening a log at position ``p`` (a resume from a checkpoint made at
``p``) drops the CSV rows past ``p`` and tells TensorBoard to purge its events
past ``p``, so that rows written after the last checkpoint by a run that died
are not kept twice.

Why not SB3's ``logger.configure`` or a bare ``SummaryWriter``: SB3's CSV writer
rewrites its header when a new key appears and has no notion of a resume
position; TensorBoard alone gives no file a user can read with ``csv``. This
class is the small layer that adds both, on top of torch's ``SummaryWriter``.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from quadgym.agents.base import POSITION
from quadgym.files import atomic_write_bytes


class LogError(ValueError):
    """A ``metrics.csv`` that is not a log this module wrote (garbage, binary, a directory)."""


def keep_rows(path: Path, position: int) -> list[str] | None:
    """Rewrite the CSV log ``path`` (atomically) to its header and the rows at or before
    ``position`` (first column); returns the header (None: an empty file).

    A last line without its newline is a row torn by a kill mid-write and is dropped (its
    first field may be a prefix of the position: ``1`` of ``11``). Whole rows are checked:
    each has the header's number of fields and a number first.

    Raises:
        LogError: the file is unreadable or not such a log, naming the line.
    """
    try:
        text = path.read_bytes().decode()
    except (OSError, UnicodeDecodeError) as exc:
        raise LogError(f"{path} is not a readable metrics log: {exc}") from None
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]  # the torn last row
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        return None
    fields, kept = lines[0], []
    for number, row in enumerate(lines[1:], start=2):
        if not row:
            continue
        try:
            at = float(row[0])
        except ValueError:
            at = math.nan
        if len(row) != len(fields) or not math.isfinite(at):
            raise LogError(
                f"{path} line {number} is not a row of this log ({len(fields)} fields, "
                f"a position first): {','.join(row)[:80]!r}"
            )
        if at <= position:
            kept.append(row)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(fields)
    writer.writerows(kept)
    atomic_write_bytes(path, buf.getvalue().encode())
    return fields


class RunLog:
    """``metrics.csv`` and ``tb/`` of the run directory ``out``, continuing at ``position``."""

    def __init__(self, out: str | Path, position: int = 0) -> None:
        from torch.utils.tensorboard import SummaryWriter

        out = Path(out)
        self.csv_path = out / "metrics.csv"
        self.fields: list[str] | None = None
        if self.csv_path.exists():
            self._truncate(position)
        # events after `position` (from a run that died) are purged when TensorBoard reads them
        self.writer = SummaryWriter(str(out / "tb"), purge_step=position + 1)

    def _truncate(self, position: int) -> None:
        self.fields = keep_rows(self.csv_path, position)

    def write(self, record: dict) -> None:
        """Append one record (its numbers) at ``record["step"]``."""
        step = int(record[POSITION])
        numbers = {
            k: v
            for k, v in record.items()
            if k != POSITION and isinstance(v, int | float) and not isinstance(v, bool)
        }
        if self.fields is None:
            self.fields = [POSITION, *numbers]
            with open(self.csv_path, "w", newline="") as f:
                csv.writer(f).writerow(self.fields)
        row = {POSITION: step, **numbers}
        with open(self.csv_path, "a", newline="") as f:
            csv.writer(f).writerow([row.get(k, "") for k in self.fields])
        for key, value in numbers.items():
            if math.isfinite(value):
                self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        self.writer.close()
