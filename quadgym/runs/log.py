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
        """Keep the header and the rows at or before ``position`` (atomically)."""
        with open(self.csv_path, newline="") as f:
            reader = csv.reader(f)
            self.fields = next(reader, None)
            kept = [r for r in reader if r and int(float(r[0])) <= position]
        if self.fields is None:
            return
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(self.fields)
        writer.writerows(kept)
        atomic_write_bytes(self.csv_path, buf.getvalue().encode())

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
