"""SIGTERM for one-off commands that may run as PID 1 (init containers, Jobs).

The kernel delivers a signal to a PID namespace's init process only if it has installed a
handler for it: Python as PID 1 with the default disposition ignores SIGTERM, so a pod deleted
while its init container waits would sit in Terminating for the whole grace period and then be
killed (exit 137). Commands that wait call exit_on_sigterm() first.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

# 128 + SIGTERM, what a shell reports for a process ended by the signal.
EXIT_ON_SIGTERM = 128 + signal.SIGTERM


def _exit(signum: int, frame: FrameType | None) -> None:
    sys.stderr.write(f"received signal {signum}, exiting\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_ON_SIGTERM)


def exit_on_sigterm() -> None:
    """Exit with status 143 on SIGTERM, even as PID 1 (SIGINT already raises KeyboardInterrupt)."""
    signal.signal(signal.SIGTERM, _exit)
