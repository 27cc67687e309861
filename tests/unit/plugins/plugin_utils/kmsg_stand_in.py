"""A stand-in for /dev/kmsg under a test root (the gather's ``r``): a FIFO holding kernel records in /dev/kmsg's
own format, held open for writing while the gather reads it, so that a nonblocking read ends as on the device
(EAGAIN: "Resource temporarily unavailable"). This machine's own records change while tests run."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def record(seq: int, microseconds: int, text: str, level: int = 6, dicts: tuple = ()) -> str:
    """One record as /dev/kmsg gives it: ``<level>,<seq>,<microseconds>,-;<text>`` and its dict lines."""
    return f"{level},{seq},{microseconds},-;{text}\n" + "".join(f" {d}\n" for d in dicts)


@contextlib.contextmanager
def kmsg(root: Path, records: list):
    dev = root / "dev"
    dev.mkdir(parents=True, exist_ok=True)
    path = dev / "kmsg"
    os.mkfifo(path)
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)  # both ends here: the reader's open never waits
    try:
        data = "".join(records).encode()
        assert len(data) < 65536, "more than a pipe holds"
        os.write(fd, data)
        yield path
    finally:
        os.close(fd)
        path.unlink()
