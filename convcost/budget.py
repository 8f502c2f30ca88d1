"""Memory a run would need against what this machine can give, checked before allocating.

``verify`` runs the network in NumPy and ``crosscheck`` in torch or Keras: both allocate real
arrays. At a size that cannot be allocated (``verify lenet5 --resolution 100000`` needs 40 GB for
the input alone) the allocation fails deep inside a library, or the machine swaps for minutes
first. The analytic report already knows every tensor's size, so the command can say up front how
much it needs and refuse, naming the size, before allocating anything.

``available_bytes`` is what the kernel reports as available (``MemAvailable`` plus free swap),
lowered by a cgroup memory limit or an address-space rlimit when one is set; ``None`` where it
cannot be read (not Linux): then the run goes ahead and an allocation failure is still caught.
"""

from __future__ import annotations

from pathlib import Path

from convcost.errors import ConvcostError


def _meminfo() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    fields = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            fields[name] = int(parts[0]) * 1024  # kB
    if "MemAvailable" not in fields:
        return None
    return fields["MemAvailable"] + fields.get("SwapFree", 0)


def _cgroup() -> int | None:
    """Room left under a cgroup v2 (or v1) memory limit, if this process is under one."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        try:
            limit, usage = Path(limit_file).read_text().strip(), Path(usage_file).read_text().strip()
        except OSError:
            continue
        if limit.isdigit() and usage.isdigit() and int(limit) < 2**62:  # v1 writes a huge number for "none"
            return max(int(limit) - int(usage), 0)
        return None
    return None


def _rlimit() -> int | None:
    try:
        import resource
    except ImportError:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft


def available_bytes() -> int | None:
    """Bytes this process can still allocate, as far as the system says; None if it does not say."""
    known = [n for n in (_meminfo(), _cgroup(), _rlimit()) if n is not None]
    return min(known) if known else None


def check(needed: int, what: str) -> None:
    """Refuse, naming the size, when ``needed`` bytes are more than ``available_bytes()``."""
    available = available_bytes()
    if available is not None and needed > available:
        raise ConvcostError(f"{what} needs at least {describe(needed)} of memory; {describe(available)} is available")


def describe(n: int) -> str:
    """'40.0 GiB (42,949,672,960 bytes)'."""
    from convcost.render.text import exact, human_bytes

    return f"{human_bytes(n)} ({exact(n)} bytes)"
