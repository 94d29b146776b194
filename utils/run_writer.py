"""The files of a run folder: args.json, metrics.csv, timing.csv, bad_samples.csv, log.txt.

Tables are rewritten whole and atomically from the in-memory history after each epoch, so a
crash leaves either the old or the new file, and a resumed run has no gaps and no duplicates.
"""
import csv
import io
import json
import math
from pathlib import Path

from utils.atomic import write_text_atomic
from utils.errors import UserError


def open_run_dir(save_root, run_name, resuming):
    """Create the run folder; refuse to overwrite another run's files unless resuming it."""
    run_dir = Path(save_root) / run_name
    if (run_dir / "metrics.csv").exists() and not resuming:
        raise UserError(f"{run_dir} already holds a run; pass --resume {run_dir / 'last.pth'} or another --run_name")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write_test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise UserError(f"cannot write to {run_dir} ({err.strerror}); choose another --save_model_path") from None
    return run_dir


def write_json(path, obj):
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def _cell(value):
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)  # repr keeps every bit of a float
    return value


def write_table(path, rows):
    """Write dict rows as CSV; columns are the union of the rows' keys, in first-seen order."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k, "")) for k in columns})
    write_text_atomic(path, buf.getvalue())


class RunLog:
    """Prints on the main process and keeps the same lines in log.txt."""

    def __init__(self, path=None, enabled=True):
        self.path = Path(path) if path else None
        self.enabled = enabled

    def __call__(self, message, write=print):
        if not self.enabled:
            return
        write(message)
        if self.path:
            with open(self.path, "a") as fh:
                fh.write(message + "\n")
