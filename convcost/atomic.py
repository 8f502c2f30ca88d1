"""Write a file so that a failure (full disk, Ctrl-C, a refused rename) never leaves half of it.

The content goes to a temporary file beside the target, which is then renamed over it. The new
file gets the old file's permissions, or the ones a plain ``open()`` would give under the umask
(``mkstemp`` alone would leave it 0600).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import BinaryIO

from convcost.errors import ConvcostError


def _mode(path: str) -> int:
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(path: str, write: Callable[[BinaryIO], None], what: str) -> None:
    """Call ``write`` with a binary file beside ``path``, then rename that file to ``path``.

    ``what`` names the file in the one-line error (``--output results.json``).
    """
    import tempfile  # only when writing a file: it is slow to import

    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".convcost-", suffix=".tmp")
    except OSError as e:
        raise ConvcostError(f"cannot write {what}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, _mode(path))
        os.replace(tmp, path)
    except BaseException as e:
        os.unlink(tmp)
        if isinstance(e, OSError):  # a full disk or a vanished directory is the user's to fix, not a bug
            raise ConvcostError(f"cannot write {what}: {e.strerror or e}") from None
        raise
