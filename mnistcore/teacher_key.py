"""The teacher's key: what opens the teacher's page. A teacher sets ``MNISTCORE_TEACHER_KEY``,
or the server makes one up the first time it is asked and keeps it in ``runs/teacher-key``
(readable by the server's user only), so it stays the same across restarts.

The key file appears whole or not at all (written under another name, then linked into place),
so two server threads asking at once agree on one key, and neither ever reads half of it."""

from __future__ import annotations

import contextlib
import hmac
import os
import re
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path

from .errors import MnistcoreError, StorageError
from .files import FileRefused, read_regular_file

VARIABLE = "MNISTCORE_TEACHER_KEY"
FILE_NAME = "teacher-key"
KEY = re.compile(r"[A-Za-z0-9_-]{8,128}")

_replacing = threading.Lock()  # a spoilt key file is replaced by one thread at a time


def teacher_key(runs_dir: Path, env: Mapping[str, str] | None = None) -> str:
    """``MNISTCORE_TEACHER_KEY`` when it is set (MnistcoreError when it is not 8 to 128 letters,
    digits, '-' or '_'), otherwise the key kept in ``runs_dir``, made at the first call; an
    empty or spoilt key file is replaced by a new key."""
    env = os.environ if env is None else env
    given = env.get(VARIABLE, "").strip()
    if given:
        if not KEY.fullmatch(given):  # not echoed: it is a secret, and this message may be shown
            raise MnistcoreError(f"{VARIABLE} must be 8 to 128 letters, digits, '-' or '_'.")
        return given
    path = Path(runs_dir) / FILE_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = _read(path)
        if kept is not None:
            return kept
        created = _create(path)
        if created is not None:
            return created
        with _replacing:
            kept = _read(path)  # another thread may have replaced it while this one waited
            if kept is not None:
                return kept
            return _replace(path)
    except OSError as exc:
        raise StorageError(
            f"The server could not keep its teacher key in its runs folder ({exc.strerror or exc}). "
            f"Set {VARIABLE} instead, or make the folder writable."
        ) from None


def teacher_link(runs_dir: Path, port: int, host: str = "localhost") -> str:
    """The line a server prints at its start: the teacher's page with the key in its address."""
    return (
        f"Teacher's view (keep this link to yourself): http://{host}:{port}/teacher?key={teacher_key(runs_dir)}\n"
        f"  from another computer in the room, use this computer's address in place of {host}"
    )


def is_teacher(given: object, key: str) -> bool:
    """Whether ``given`` (from a URL or a form, so anything at all) is the key, compared in
    constant time so that how long a wrong guess takes tells nothing about the key."""
    if not isinstance(given, str) or not isinstance(key, str) or not key:
        return False
    return hmac.compare_digest(given.encode(), key.encode())


def _read(path: Path) -> str | None:
    """The key in the file; None when there is none or it is not a key."""
    try:
        text = read_regular_file(path, limit=1024).decode("ascii").strip()
    except (FileRefused, UnicodeDecodeError):
        return None
    return text if KEY.fullmatch(text) else None


def _write_new(path: Path) -> tuple[Path, str]:
    """A new key in a file of its own beside ``path``, mode 0600 from the start."""
    key = secrets.token_urlsafe(16)
    spare = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
        f.flush()
        os.fsync(f.fileno())
    return spare, key


def _create(path: Path) -> str | None:
    """Put a new key in place if there is no file yet; the key kept when another thread got
    there first; None when the file there is not a key."""
    spare, key = _write_new(path)
    try:
        os.link(spare, path)  # fails when the name is taken: the first to link wins
        return key
    except FileExistsError:
        return _read(path)
    finally:
        with contextlib.suppress(OSError):
            spare.unlink()


def _replace(path: Path) -> str:
    spare, key = _write_new(path)
    try:
        os.replace(spare, path)
    except OSError:
        with contextlib.suppress(OSError):
            spare.unlink()
        raise
    return key
