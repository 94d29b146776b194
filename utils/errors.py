"""The two kinds of failure the tool distinguishes.

UserError: something the user must fix (a flag, a path, a file format). Entry points print its
one-line message and exit with status 2, without a traceback.
SampleError: one bad sample (a corrupt video, no face). It never ends a run: callers skip it or
score it with a fallback, count it and report it.
"""
import re
import sys
from contextlib import contextmanager

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)")  # colours, bold; titles


class UserError(Exception):
    """A problem the user must fix; the message is one line naming the problem and the fix."""


class SampleError(Exception):
    """One unusable sample. `reason` is a short code; the message gives details."""

    REASONS = ("unreadable", "too_short", "no_face", "missing", "bad_image", "too_small", "unsafe_path", "blank")

    def __init__(self, reason, detail=""):
        if reason not in self.REASONS:
            raise ValueError(f"unknown SampleError reason {reason!r}")
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@contextmanager
def exit_on_user_error():
    """Turn a UserError into `error: <message>` on stderr and exit status 2: one line, no
    terminal escape codes (library messages quoted in it may carry some)."""
    try:
        yield
    except UserError as err:
        text = " ".join(ANSI_ESCAPE.sub("", str(err)).split())
        print(f"error: {text}", file=sys.stderr)
        raise SystemExit(2) from None
