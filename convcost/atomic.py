"""Write ``--output`` / ``--plot`` so that a failure never leaves half a file, and nothing that is
not a file is replaced.

* **A regular file** (or a path that does not exist yet) is written to a temporary file beside it,
  which is then renamed over it: a full disk, a refused rename, Ctrl-C, SIGTERM or SIGHUP leave
  the old file byte-identical and no temporary file behind. The new file gets the old file's
  permissions, or the ones a plain ``open()`` would give under the umask (``mkstemp`` alone would
  leave it 0600).
* **A symlink is followed**: the file it points to is written (the rename happens there), the link
  stays a link.
* **Anything else** (a character device such as /dev/null or /dev/full, a FIFO, /dev/stdout when
  it is a terminal or a pipe) is written straight through, as a shell's ``>`` would: renaming a
  file over /dev/null would replace the device itself (as root), and a FIFO's reader would get
  nothing. A device that fails the write (/dev/full) fails the command.
* **A read-only file is refused**, even for root (whom the permission bits do not stop): the
  rename would otherwise replace what its owner protected.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from typing import BinaryIO

from convcost.errors import ConvcostError
from convcost.interrupt import signals_deferred


def _umask_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _error(what: str, e: OSError) -> ConvcostError:
    return ConvcostError(f"cannot write {what}: {e.strerror or e}")


def _write_through(path: str, write: Callable[[BinaryIO], None], what: str) -> None:
    """Open ``path`` and write into it: for devices, FIFOs and the like, which must not be replaced."""
    try:
        with open(path, "wb") as f:
            write(f)
    except OSError as e:
        raise _error(what, e) from None


def _read_only(path: str, info: os.stat_result) -> bool:
    return not os.access(path, os.W_OK) or not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def write_atomically(path: str, write: Callable[[BinaryIO], None], what: str) -> None:
    """Call ``write`` with a binary file for ``path``: a temporary file renamed over a regular file,
    or ``path`` itself when it is not a regular file (see the module docstring).

    ``what`` names the file in the one-line error (``--output results.json``).
    """
    try:
        info: os.stat_result | None = os.stat(path)  # follows symlinks: what would really be written
    except FileNotFoundError:
        info = None  # a new file (or a dangling symlink: its target is created, as `>` would)
    except OSError as e:
        raise _error(what, e) from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise ConvcostError(f"cannot write {what}: it is a directory")
    if info is not None and not stat.S_ISREG(info.st_mode):
        _write_through(path, write, what)
        return
    target = os.path.realpath(path)
    if info is not None:
        try:
            renamable = os.path.samestat(os.stat(target), info)
        except OSError:
            renamable = False
        if not renamable:  # /proc/self/fd/N of a deleted file, and such: no name to rename onto
            _write_through(path, write, what)
            return
        if _read_only(target, info):
            raise ConvcostError(f"cannot write {what}: the file is read-only")
    _replace(target, info, write, what)


def _replace(target: str, info: os.stat_result | None, write: Callable[[BinaryIO], None], what: str) -> None:
    import tempfile  # only when writing a file: it is slow to import

    temporary: str | None = None
    try:
        with signals_deferred():  # a signal now would leave a file whose name is not yet known
            fd, temporary = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".convcost-", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(temporary, stat.S_IMODE(info.st_mode) if info is not None else _umask_mode())
        os.replace(temporary, target)
    except BaseException as e:  # Ctrl-C, SIGTERM, SIGHUP included (see convcost.interrupt)
        if temporary is not None:
            with signals_deferred(), contextlib.suppress(OSError):
                os.unlink(temporary)
        if isinstance(e, OSError):  # a full disk or a vanished directory is the user's to fix, not a bug
            raise _error(what, e) from None
        raise
