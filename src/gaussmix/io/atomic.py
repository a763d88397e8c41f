"""Writing a file so that it is either complete or absent, and never replaces a file unless asked.

The content goes to a temporary file in the target folder (same file system, so the last step is a rename,
not a copy), is flushed and ``fsync``\\ ed, and is then put in place in one atomic step:

- ``overwrite=True``: ``os.replace`` (atomic on POSIX and Windows); a reader sees the old file or the new one.
- ``overwrite=False``: ``os.link`` of the temporary file to the target, which fails with ``FileExistsError``
  when the target exists, however late it appeared (checking first and renaming afterwards would leave a
  window in which a file created by someone else is silently replaced). The temporary name is then unlinked.
  File systems without hard links (FAT, some network mounts) fall back to check-then-rename.

On any exception, ``KeyboardInterrupt`` included, the temporary file is removed and the target untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["atomic_write", "write_npz_atomically"]


def atomic_write(path, write: Callable, *, overwrite: bool, binary: bool = True) -> Path:
    """Call ``write(stream)`` on a temporary file beside ``path``, then put it in place atomically.

    Parameters
    ----------
    path : str or Path
        The file to write; its folder must exist.
    write : callable
        ``write(stream)`` writes the whole content to an open file (bytes when ``binary``, else UTF-8 text
        with newlines untranslated).
    overwrite : bool
        Replace an existing ``path``; when False an existing ``path`` raises ``FileExistsError`` and is left
        as it was.

    Returns
    -------
    Path

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        The folder does not exist, or is a file: the message names it (not the temporary file's name).
    """
    path = Path(path)
    folder = path.parent
    if not folder.exists():
        raise FileNotFoundError(f"cannot write {path}: folder {folder} does not exist")
    if not folder.is_dir():
        raise NotADirectoryError(f"cannot write {path}: {folder} is not a folder")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(temporary, _new_file_mode())  # mkstemp makes it 0600; outputs get the usual permissions
        text_options = {} if binary else {"newline": "", "encoding": "utf-8"}
        with os.fdopen(descriptor, "wb" if binary else "w", **text_options) as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        if overwrite:
            os.replace(temporary, path)
        else:
            _publish_without_replacing(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)  # after a link (or a failure); gone already after a replace
    return path


def _publish_without_replacing(temporary: str, path: Path) -> None:
    try:
        os.link(temporary, path)  # atomic, and refuses an existing target
    except FileExistsError:
        raise FileExistsError(f"{path} already exists") from None
    except OSError:  # no hard links on this file system: the best remaining is check, then rename
        if path.exists():
            raise FileExistsError(f"{path} already exists") from None
        os.replace(temporary, path)


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_npz_atomically(path, meta: dict, arrays: dict, *, overwrite: bool = True) -> Path:
    """Write ``arrays`` and the JSON ``meta`` as an ``.npz`` file that is either complete or absent.

    The archive goes to a temporary file in the target folder, is flushed to disk, then put in place in one
    atomic step (:mod:`gaussmix.io.atomic`): an existing file is replaced only by a complete one, and only when
    ``overwrite`` (otherwise ``FileExistsError``, even if the file appeared while writing).
    """
    return atomic_write(path, lambda stream: np.savez(stream, __meta__=np.array(json.dumps(meta)), **arrays),
                        overwrite=overwrite)


def _without_pickle_advice(error: Exception) -> str:
    """numpy's error text, minus its advice to allow pickles (never safe for a file of unknown origin)."""
    text = str(error)
    if "allow_pickle" in text:
        return "it holds Python objects (pickled data), which gaussmix never writes and does not load"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
