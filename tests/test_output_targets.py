"""--output and --plot never replace what is not a regular file, and never leave half a file.

The atomic rename (temporary file beside the target, then ``os.replace``) is right for a regular
file and wrong for everything else: as root it turned /dev/null into a regular file, made
/dev/full "succeed", swallowed /dev/stdout, replaced a symlink with a file, gave a FIFO's reader
nothing, and overwrote a read-only file. And SIGTERM or SIGHUP mid-write left a ``.convcost-*.tmp``.

Device targets are made only inside a private mount namespace (``unshare -m``): a tmpfs is
mounted over a scratch directory that no other process sees, and the devices are created in it
with mknod; the machine's /dev is never written. Those tests need root and util-linux's unshare.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from convcost.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def exported(args: list[str] | None = None) -> str:
    code, out, err = run(["export", *(args or [])])
    assert code == 0, err
    return out


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".convcost-"))


# ---------------------------------------------------------------- devices, in a private mount namespace


def _namespaces_available() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True)
    return probe.returncode == 0


needs_namespace = pytest.mark.skipif(not _namespaces_available(), reason="needs root and unshare -m")


def in_private_namespace(directory: Path, script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (sh) with a fresh tmpfs on ``directory`` holding a null and a full device
    (1,3 and 1,7, as on Linux), all in a mount namespace of its own."""
    d = shlex.quote(str(directory))
    setup = (
        f"set -e; mount -t tmpfs tmpfs {d}; mknod {d}/null c 1 3; mknod {d}/full c 1 7; "
        f"mknod {d}/null.svg c 1 3; mknod {d}/full.svg c 1 7; ln -s /proc/self/fd/1 {d}/stdout; set +e\n"
    )
    return subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", setup + script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )


CONVCOST = f"{shlex.quote(sys.executable)} -m convcost"


@needs_namespace
@pytest.mark.parametrize(
    "command",
    [
        "export --output {d}/null",
        "table lenet5 --format json --output {d}/null",
        "sweep --alpha 1,0.5 --resolution 128 --output {d}/null",
        "sweep --alpha 1 --resolution 128 --plot {d}/null.svg",
    ],
    ids=["export", "table", "sweep", "plot"],
)
def test_dev_null_stays_a_device(command: str, tmp_path: Path) -> None:
    result = in_private_namespace(
        tmp_path, f"{CONVCOST} {command.format(d=tmp_path)}; echo status $?; stat -c %F {tmp_path}/null*"
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("status 0") or "status 0" in lines, result
    assert result.stderr == "", result.stderr
    assert [line for line in lines if "special" in line] == ["character special file"] * 2, lines
    assert list(tmp_path.iterdir()) == []  # the tmpfs was the namespace's only


@needs_namespace
@pytest.mark.parametrize(
    "command, what",
    [
        ("export --output {d}/full", "--output {d}/full"),
        ("table --format csv --output {d}/full", "--output {d}/full"),
        ("sweep --alpha 1 --resolution 128 --plot {d}/full.svg", "--plot {d}/full.svg"),
    ],
    ids=["export", "table", "plot"],
)
def test_dev_full_fails_the_command_with_one_line(command: str, what: str, tmp_path: Path) -> None:
    result = in_private_namespace(
        tmp_path, f"{CONVCOST} {command.format(d=tmp_path)}; echo status $?; stat -c %F {tmp_path}/full"
    )
    assert result.stdout.splitlines() == ["status 2", "character special file"], result
    what = what.format(d=tmp_path)
    assert result.stderr == f"convcost: error: cannot write {what}: No space left on device\n"


@needs_namespace
def test_stdout_on_a_full_disk_is_one_line(tmp_path: Path) -> None:
    script = "".join(
        f"{CONVCOST} {command} > {tmp_path}/full; echo status $?\n"
        for command in ("table lenet5", "export", "models", "explain lenet5 c1", "--help", "compare lenet5 lenet5")
    )
    result = in_private_namespace(tmp_path, script)
    assert result.stdout.splitlines() == ["status 2"] * 6, result
    assert result.stderr == "convcost: error: cannot write to standard output: No space left on device\n" * 6


@needs_namespace
def test_a_stdout_symlink_writes_to_whatever_stdout_is(tmp_path: Path) -> None:
    """`--output /dev/stdout` (here a link to /proc/self/fd/1 made in the namespace) reaches the pipe
    or the file that stdout is, and the link is left a link."""
    text = exported(["lenet5"])
    result = in_private_namespace(
        tmp_path,
        f"{CONVCOST} export lenet5 --output {tmp_path}/stdout; echo status $?; "
        f"{CONVCOST} export lenet5 --output {tmp_path}/stdout > {tmp_path}/file; echo status $?; "
        f"cat {tmp_path}/file; stat -c %F {tmp_path}/stdout",
    )
    assert result.stdout == f"{text}status 0\nstatus 0\n{text}symbolic link\n", result
    assert result.stderr == ""


# ---------------------------------------------------------------- FIFOs, symlinks, read-only files


def test_a_fifo_reader_gets_the_whole_output(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    code, out, err = run(["export", "--to", "json", "--output", str(fifo)])
    reader.join(timeout=60)
    assert code == 0 and not out and not err, err
    assert received == [exported(["--to", "json"]).encode()]
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and leftovers(tmp_path) == []


def test_a_symlink_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    target, link = tmp_path / "real.toml", tmp_path / "link.toml"
    target.write_text("old\n")
    target.chmod(0o640)
    link.symlink_to(target.name)
    assert run(["export", "--output", str(link)])[0] == 0
    assert link.is_symlink() and os.readlink(link) == target.name
    assert target.read_text() == exported()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.toml"
    link.symlink_to("made.toml")
    assert run(["export", "--output", str(link)])[0] == 0
    assert link.is_symlink() and (tmp_path / "made.toml").read_text() == exported()


@pytest.mark.parametrize(
    "command, suffix",
    [(["export", "--output"], ".toml"), (["sweep", "--alpha", "1", "--resolution", "128", "--plot"], ".svg")],
    ids=["output", "plot"],
)
def test_a_read_only_file_is_refused_even_for_root(command: list[str], suffix: str, tmp_path: Path) -> None:
    target = tmp_path / f"kept{suffix}"
    target.write_text("protected\n")
    target.chmod(0o444)
    code, out, err = run([*command, str(target)])
    flag = command[-1]
    assert code == 2 and not out
    assert err == f"convcost: error: cannot write {flag} {target}: the file is read-only\n"
    assert target.read_text() == "protected\n" and leftovers(tmp_path) == []


def test_a_read_only_target_behind_a_symlink_is_refused(tmp_path: Path) -> None:
    target, link = tmp_path / "real.toml", tmp_path / "link.toml"
    target.write_text("protected\n")
    target.chmod(0o400)
    link.symlink_to(target)
    code, _, err = run(["export", "--output", str(link)])
    assert code == 2 and "the file is read-only" in err and target.read_text() == "protected\n"


def test_a_path_through_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    code, _, err = run(["export", "--output", str(tmp_path / "afile" / "out.toml")])
    assert code == 2 and err == f"convcost: error: cannot write --output {tmp_path}/afile/out.toml: Not a directory\n"


# ---------------------------------------------------------------- signals while writing

_WRITE_THEN_SIGNAL = textwrap.dedent(
    """
    import os, signal, sys
    from convcost.cli import main

    real_fdopen = os.fdopen

    class Writer:
        def __init__(self, real):
            self.real = real
        def write(self, data):
            self.real.write(data[:20])
            self.real.flush()
            os.kill(os.getpid(), getattr(signal, sys.argv[1]))
            self.real.write(data[20:])
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self.real.close()

    os.fdopen = lambda *a, **k: Writer(real_fdopen(*a, **k))
    if "--plot" in sys.argv:  # matplotlib wants a real file: the signal comes from savefig instead
        from matplotlib.figure import Figure

        def savefig(self, file, **kwargs):
            Writer(file).write(b"<svg>half of a picture</svg>")

        os.fdopen = real_fdopen
        Figure.savefig = savefig
    sys.exit(main(sys.argv[2:]))
    """
)


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGINT"])
@pytest.mark.parametrize(
    "command", [["export", "--output"], ["sweep", "--alpha", "1", "--resolution", "128", "--plot"]], ids=["out", "plot"]
)
def test_a_signal_while_writing_leaves_the_old_file_and_no_temporary(
    name: str, command: list[str], tmp_path: Path
) -> None:
    target = tmp_path / ("old.svg" if "--plot" in command else "old.toml")
    target.write_bytes(b"the previous file\n")
    result = subprocess.run(
        [sys.executable, "-c", _WRITE_THEN_SIGNAL, name, *command, str(target)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    signum = getattr(signal, name)
    line = "convcost: error: interrupted\n" if name == "SIGINT" else f"convcost: error: terminated by {name}\n"
    assert (result.returncode, result.stdout, result.stderr) == (128 + signum, "", line)
    assert target.read_bytes() == b"the previous file\n"
    assert leftovers(tmp_path) == []


def test_sigterm_at_any_moment_never_leaves_a_temporary_file(tmp_path: Path) -> None:
    """A real SIGTERM from outside at spread-out moments of a run that writes --output: the target
    is the old file or the whole new one, and no temporary file remains."""
    target = tmp_path / "grid.csv"
    args = [sys.executable, "-m", "convcost", "sweep", "--alpha", "1,0.75,0.5,0.25", "--format", "csv"]
    complete = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=True).stdout
    for attempt in range(12):
        target.write_text("old\n")
        process = subprocess.Popen([*args, "--output", str(target)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.05 * attempt)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        assert process.returncode in (0, 143, -signal.SIGTERM), (process.returncode, err)
        assert err in ("", "convcost: error: terminated by SIGTERM\n"), err
        assert target.read_text() in ("old\n", complete)
        assert leftovers(tmp_path) == []
