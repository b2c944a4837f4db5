"""Files: atomic writes, and the one rule for "local folder or Hugging Face Hub id"."""

import os
import tempfile
from pathlib import Path


class SourceNotFound(FileNotFoundError, ValueError):
    """A path that names no folder. Both kinds: a missing file to some callers, bad input to others."""


def local_folder(source, what: str) -> Path | None:
    """The local folder `source` names, or None when it reads as a Hub id ("owner/name").

    A Path is always a folder, never a Hub id, and "~" is expanded. A string that looks like a path
    (starts with . / ~, or has a backslash, or not exactly one "/") but names no folder is an error
    here, so a typo in a path is never sent to the Hub. `what` names the thing in messages.
    """
    is_path = isinstance(source, os.PathLike)
    shown = os.fspath(source) if is_path else str(source)
    text = os.path.expanduser(shown)
    if os.path.isdir(text):
        return Path(text)
    if os.path.exists(text):
        raise SourceNotFound(f"{what} {shown!r} is a file; expected a folder")
    if is_path or text.startswith((".", "/", "~")) or "\\" in text or text.count("/") != 1:
        raise SourceNotFound(f"{what} folder {shown!r} does not exist")
    return None


def atomic_write(path, write) -> None:
    """Call `write(tmp)` on a temp file in `path`'s folder, then rename it to `path`.

    Readers see the old file or the new one, never a mix. The temp file is named `.NAME.*.tmp`.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        # mkstemp makes 0600 (and writers that recreate the file keep that): give the usual permissions.
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
