"""Standard output for the CLI: everything in one write, and every way it can fail as one line.

Python's own stream fails in ways a user cannot act on: a closed stdout (``>&-``) makes
``sys.stdout`` None and output vanishes; a full disk (``> /dev/full``) raises at the final flush,
after the program has "succeeded"; a stdout whose encoding has no box-drawing characters
(``PYTHONIOENCODING=cp1252``) fails halfway through a table; a reader that goes away
(``| head -c 1``) leaves buffered bytes that fail again at exit. So the CLI encodes the whole text
first, then writes the bytes straight to the file descriptor (no buffer left to flush at exit):

* a closed stdout, a full disk or any other write error is a ``ConvcostError`` naming the reason;
* text the encoding cannot hold is refused before a byte is written (a terminal table falls back
  to ASCII box drawing first);
* a closed pipe raises ``BrokenPipeError``, which the CLI ends quietly with exit 0.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any, TextIO

from convcost.errors import ConvcostError
from convcost.render.grid import BOX_DRAWING

#: what a drawn table falls back to on a narrow encoding: ASCII boxes, and the Latin spelling of the
#: paper's symbols in headers (sweep's α²ρ² rule column)
_ASCII_BOXES = {ord(k): v for k, v in {**BOX_DRAWING, "α": "a", "ρ": "r", "²": "2"}.items()}


def _encoding(stream: Any) -> str:
    return getattr(stream, "encoding", None) or "utf-8"


def _encode(text: str, encoding: str, drawing: bool) -> bytes:
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as e:
        character = e.object[e.start]
    if drawing:  # translated only when needed: a whole table through a dict costs a millisecond
        try:
            return text.translate(_ASCII_BOXES).encode(encoding)
        except UnicodeEncodeError as e:
            character = e.object[e.start]
    raise ConvcostError(
        f"cannot write to standard output: its encoding ({encoding}) has no {character!a}; "
        "set PYTHONIOENCODING=utf-8, or write a UTF-8 file with --output"
    )


def emit(text: str, *, drawing: bool = False, stream: Any = None) -> None:
    """Write ``text`` to standard output (or ``stream``) at once; ``drawing`` allows the ASCII
    fallback for box-drawing characters (terminal tables)."""
    out = sys.stdout if stream is None else stream
    if isinstance(out, Guard):
        out = out.real
    if out is None:
        raise ConvcostError("cannot write to standard output: it is closed; give --output FILE")
    data = _encode(text, _encoding(out), drawing)
    try:
        try:
            fd = out.fileno()
        except (AttributeError, OSError, ValueError):  # io.StringIO, pytest's capture: no descriptor
            out.write(data.decode(_encoding(out)))
            out.flush()
            return
        out.flush()  # anything written through the stream before (nothing, normally)
        _write_all(fd, data)
    except BrokenPipeError:
        raise
    except OSError as e:
        raise ConvcostError(f"cannot write to standard output: {e.strerror or e}") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:  # a non-blocking descriptor (some terminals, pipes set so by a parent)
            import select

            select.select([], [fd], [])
            continue
        view = view[written:]


class Guard:
    """Stands in for ``sys.stdout`` while the CLI runs, so text that click prints itself (help,
    version, usage) goes through ``emit`` too."""

    def __init__(self, real: TextIO | None) -> None:
        self.real = real

    def write(self, text: str) -> int:
        emit(text, stream=self.real)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        try:
            return self.real is not None and self.real.isatty()
        except (OSError, ValueError):
            return False

    @property
    def encoding(self) -> str:
        return _encoding(self.real)

    def fileno(self) -> int:
        if self.real is None:
            raise OSError(errno.EBADF, "standard output is closed")
        return self.real.fileno()


def silence(stream: Any) -> None:
    """After a closed pipe: point the descriptor at /dev/null, so that nothing still buffered fails
    again when Python flushes its streams at exit."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
