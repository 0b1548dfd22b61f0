"""Files and folders that hold customers' data, created readable by their owner only.

Databases (and SQLite's WAL/SHM files, which take the database file's mode), the workspace's
Parquet files, rejects and exports hold phone numbers: files are 0600 and folders 0700 whatever
the process's umask, because the mode is set explicitly after creating them. Folders that
already exist (a home directory, /tmp) are left as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: str | Path) -> Path:
    """Create ``path`` and any missing parents as 0700 folders; existing ones are not touched."""
    path = Path(path)
    missing = []
    for folder in (path, *path.parents):
        if folder.exists() or folder.is_symlink():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:  # made meanwhile by another process
            continue
        os.chmod(folder, DIR_MODE)
    if not path.is_dir():
        raise NotADirectoryError(20, "Not a directory", str(path))
    return path


def private_file(path: str | Path) -> Path:
    """Create ``path`` (its folder as by ``private_dir``) as an owner-only file, or make an existing
    one owner-only, before anything is written to it; returns the path for the writer."""
    path = Path(path)
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        if path.is_file() and os.stat(path).st_uid == os.getuid():
            os.chmod(path, FILE_MODE)  # another owner's file keeps its mode (and its owner decides)
        return path
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def write_private_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` as an owner-only file (replacing what was there)."""
    path = private_file(path)
    with open(path, "wb") as f:
        f.write(data)
    return path
