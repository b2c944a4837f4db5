"""Atomic file writes: a crash, a kill or a full disk never leaves half a file behind."""

import os
import tempfile
from pathlib import Path


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
