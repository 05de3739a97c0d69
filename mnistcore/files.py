"""Reading a file a user named, or a file on disk the app did not write just now, without
trusting it: only a regular file (a FIFO would block forever, a device never end), only up to
a size limit, checked on the open file so nothing can be swapped in between."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import MnistcoreError


class FileRefused(MnistcoreError):
    pass


def read_regular_file(path: str | Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; FileRefused says why not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise FileRefused(f"The file cannot be opened: {exc.strerror or exc}.") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused("This is not a regular file (a folder, device or pipe), so it is not read.")
        if info.st_size > limit:
            raise FileRefused(f"The file is {info.st_size / 1e6:,.1f} MB; the limit is {limit / 1e6:.0f} MB.")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(limit + 1)  # the file may have grown since fstat
    except OSError as exc:
        raise FileRefused(f"The file cannot be read: {exc.strerror or exc}.") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FileRefused(f"The file is over the limit of {limit / 1e6:.0f} MB.")
    return data
