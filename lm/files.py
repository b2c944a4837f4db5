"""Files: atomic writes and the temporaries a killed one leaves, zip files sealed with their SHA-256,
and the one rule for "local folder or Hugging Face Hub id"."""

import hashlib
import os
import secrets
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


# ------------------------------------------------------------------------------ atomic writes
TEMP_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")  # hex digits, and what mkstemp used before


def is_temp_of(entry: str, name: str) -> bool:
    """Whether `entry` is named as a temp file of `atomic_write` for `name`: `.NAME.` + 8 of TEMP_CHARS + `.tmp`."""
    prefix, suffix = f".{name}.", ".tmp"
    middle = entry[len(prefix):-len(suffix)]
    return entry.startswith(prefix) and entry.endswith(suffix) and len(middle) == 8 and set(middle) <= TEMP_CHARS


def atomic_write(path, write) -> None:
    """Call `write(tmp)` on a temp file in `path`'s folder, then rename it to `path`.

    Readers see the old file or the new one, never a mix. The temp file is `.NAME.XXXXXXXX.tmp`
    (8 random hex digits); one that a killed process left is found by `remove_stale_temps`.
    """
    path = Path(path)
    for _ in range(100):  # a name already taken (by chance, or by a killed writer's temp): draw another
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            # 0o666 less the umask: the usual permissions (writers that recreate the file keep them).
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free temp file name beside {path}")
    try:
        write(str(tmp))
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def remove_stale_temps(folder, names) -> list[Path]:
    """Delete the temp files that `atomic_write` of one of `names` into `folder` left (its process was
    killed mid-write). Only regular files named as such temps (`is_temp_of`); nothing else is touched."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_file(follow_symlinks=False) and any(is_temp_of(entry.name, n) for n in names):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


# -------------------------------------------------------------------------- sealed zip files
# A zip archive (torch.save writes one) ends with its end-of-central-directory record, whose last
# field is the length of a free comment. Sealing writes the SHA-256 of the unsealed file there: the
# archive stays a valid zip (torch.load reads it as before), and every byte of it is covered.
SEAL_MAGIC = b"lm-sha256:"
SEAL_LEN = len(SEAL_MAGIC) + 64
_EOCD, _EOCD_LEN = b"PK\x05\x06", 22
_CHUNK = 1 << 22


def _sha256(f, length: int, tail: bytes = b"") -> str:
    """SHA-256 of the first `length` bytes of the open file `f`, then `tail`."""
    digest = hashlib.sha256()
    f.seek(0)
    while length > 0:
        block = f.read(min(_CHUNK, length))
        if not block:
            break
        digest.update(block)
        length -= len(block)
    digest.update(tail)
    return digest.hexdigest()


def seal_zip(path) -> None:
    """Write the SHA-256 of the zip file at `path` into its comment (which must be empty)."""
    with open(path, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - _EOCD_LEN))
        eocd = f.read()
        if len(eocd) != _EOCD_LEN or eocd[:4] != _EOCD or eocd[-2:] != b"\0\0":
            raise ValueError(f"{path} is not a zip file without a comment")
        seal = SEAL_MAGIC + _sha256(f, size).encode()
        f.seek(size - 2)
        f.write(len(seal).to_bytes(2, "little") + seal)


def read_seal(path) -> str | None:
    """The SHA-256 that a sealed zip file carries, or None if it carries none (not sealed, or cut short)."""
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        if size < _EOCD_LEN + SEAL_LEN:
            return None
        f.seek(size - _EOCD_LEN - SEAL_LEN)
        end = f.read()
    if end[:4] != _EOCD or end[_EOCD_LEN - 2:_EOCD_LEN] != SEAL_LEN.to_bytes(2, "little"):
        return None
    seal = end[_EOCD_LEN:]
    return seal[len(SEAL_MAGIC):].decode("ascii", "replace") if seal.startswith(SEAL_MAGIC) else None


def seal_matches(path) -> bool:
    """Whether the sealed zip file at `path` still has the SHA-256 it was sealed with."""
    expected = read_seal(path)
    if expected is None:
        return False
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        return _sha256(f, size - SEAL_LEN - 2, b"\0\0") == expected
