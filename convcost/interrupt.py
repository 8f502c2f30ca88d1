"""Ctrl-C, SIGTERM and SIGHUP end the command with one line, whenever they arrive.

* While the CLI runs, SIGTERM and SIGHUP raise ``Terminated`` (as SIGINT raises
  ``KeyboardInterrupt``), so the ``finally`` and ``except BaseException`` blocks run: a file being
  written by ``convcost.atomic`` loses its temporary file, and the CLI prints one line and exits
  with 128 + the signal number, as the shell reports a process killed by it.
* Before the CLI's ``main`` is reached (Python is still importing convcost, click, ...), a Ctrl-C
  would print a traceback through the import machinery. ``install_startup_hook`` (called first
  thing by ``import convcost``, and only when this process is the ``convcost`` command) makes that
  one line too. A program that merely imports convcost keeps Python's usual behaviour.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType, TracebackType

#: the signals the CLI turns into ``Terminated`` (SIGHUP does not exist on Windows)
TERMINATING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
INTERRUPTED_LINE = "convcost: error: interrupted"


class Terminated(BaseException):
    """A terminating signal arrived; ``signum`` says which. Like ``KeyboardInterrupt``, not an
    ``Exception``: no ``except Exception`` on the way out swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


@contextmanager
def terminating_signals_raise() -> Iterator[None]:
    """Inside this, SIGTERM and SIGHUP raise ``Terminated`` (main thread only; restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise) for signum in TERMINATING}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Inside this, SIGINT, SIGTERM and SIGHUP wait until the block ends (a few system calls that
    must not be split: create a temporary file and remember its name; delete it)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    blocked = {signal.SIGINT, *TERMINATING}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def interrupted_line(stream: object) -> str:
    """The one line for a Ctrl-C; on a terminal it starts on a fresh line, after the '^C' it echoed."""
    try:
        fresh = bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        fresh = False
    return ("\n" if fresh else "") + INTERRUPTED_LINE + "\n"


def _is_the_command() -> bool:
    """Whether this process runs the ``convcost`` console script or ``python -m convcost``."""
    if sys.argv and os.path.basename(sys.argv[0]) in ("convcost", "convcost.exe"):
        return True
    argv = list(getattr(sys, "orig_argv", ()))
    return any((a == "-m" and b == "convcost") or a == "-mconvcost" for a, b in zip(argv, [*argv[1:], ""], strict=True))


def install_startup_hook() -> None:
    """Print one line, not a traceback, for a Ctrl-C that arrives before the CLI's ``main`` runs."""
    if not _is_the_command():
        return
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, traceback: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            with suppress(AttributeError, OSError, ValueError):
                sys.stderr.write(interrupted_line(sys.stderr))
            return  # Python still exits as a process killed by SIGINT (status 130)
        previous(kind, value, traceback)

    sys.excepthook = hook
