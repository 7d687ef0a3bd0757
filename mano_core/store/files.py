"""The store file's place in the process and on the disk (split from local_store.py): one open
of a file per process (other processes: SQLite's exclusive lock), the folder synced after the
file is created or replaced, and the passphrase's minimum length."""

from __future__ import annotations

import contextlib
import os

from mano_core import limits
from mano_core.codes import Code
from mano_core.errors import StoreError, ValidationError

_OPEN_PATHS: set[str] = set()  # files open in this process (other processes: SQLite's lock)


def _check_passphrase(passphrase: str) -> None:
    if len(passphrase) < limits.MIN_PASSPHRASE_LENGTH:
        raise ValidationError("store", "passphrase", Code.PASSPHRASE_TOO_SHORT,
                              min=limits.MIN_PASSPHRASE_LENGTH)


def _claim(path: str) -> str:
    real = os.path.realpath(path)
    if real in _OPEN_PATHS:
        raise StoreError(f"{path}: the store is already open in this process")
    _OPEN_PATHS.add(real)
    return real


def _fsync_dir(path: str) -> None:
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
