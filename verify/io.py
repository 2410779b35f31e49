"""Atomic file writes, content hashes, and the safe handling of a report folder.

Every write goes to a temporary file in the target's folder and is renamed over the target, so an
interrupted run never leaves a half-written file; the file gets the user's umask (not mkstemp's
0600). Reading a file of a report folder never follows a symlink (`read_regular`), a damaged file
is renamed aside instead of being trusted or deleted (`set_aside`), and `DirLock` keeps two runs off
one folder.
"""

from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import json
import math
import os
import stat
import tempfile
from pathlib import Path

from verify.errors import InputError, VerifyError


def warn(msg: str) -> None:
    """One warning line on stderr (a damaged file set aside, a stale lock taken over)."""
    import sys

    print(f"verify: warning: {msg}", file=sys.stderr, flush=True)


class WriteError(VerifyError):
    """A report file could not be written (full disk, permissions): the previous files are kept.

    Not an OSError on purpose: a checker's own `except OSError` must not swallow it."""


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows (/proc/self/status)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def file_mode() -> int:
    """The mode a newly created file gets under the current umask (0o644 under umask 022)."""
    return 0o666 & ~current_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same folder and os.replace.

    The file gets mode 0o666 & ~umask. A symlink at `path` is replaced by the file (never followed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), file_mode())
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def json_bytes(obj) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8")


def atomic_write_json(path: str | os.PathLike, obj) -> None:
    atomic_write_bytes(path, json_bytes(obj))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fsync_dir(path: str | os.PathLike) -> None:
    """Make the renames inside a folder durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- reading and repairing the files of a report folder -----------------------------------------

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


def read_regular(path: str | os.PathLike, limit: int = 1 << 30, *, follow: bool = False) -> bytes:
    """The bytes of `path`, which must be a regular file of at most `limit` bytes and, unless
    `follow`, not a symlink (OSError otherwise: ELOOP for a symlink, EISDIR / EINVAL for a folder, a
    FIFO or a device, EFBIG when larger). Never blocks on a FIFO (opened non-blocking, then refused)."""
    flags = _NOFOLLOW if not follow else getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, os.O_RDONLY | flags)
    except OSError as e:
        if not follow and (e.errno in (errno.ELOOP, errno.EMLINK) or (os.path.islink(path) and e.errno != errno.ENOENT)):
            raise OSError(errno.ELOOP, "is a symlink (not followed)", str(path)) from None
        raise
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise OSError(errno.EISDIR, "is a folder", str(path))
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        if st.st_size > limit:
            raise OSError(errno.EFBIG, f"larger than {limit} bytes", str(path))
        chunks, total = [], 0
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            chunks.append(b)
            total += len(b)
            if total > limit:
                raise OSError(errno.EFBIG, f"larger than {limit} bytes", str(path))
        return b"".join(chunks)
    finally:
        os.close(fd)


def _stamp() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def set_aside(path: str | os.PathLike, warn, why: str) -> Path | None:
    """Rename a damaged file, folder or symlink (the link itself, never its target) to
    `<name>.corrupt-<timestamp>` next to it, with one warning line. Returns the new path, or None
    when nothing was there or it could not be moved (a symlink that cannot be moved is unlinked)."""
    path = Path(path)
    new = path.with_name(f"{path.name}.corrupt-{_stamp()}")
    try:
        os.rename(path, new)  # rename acts on the directory entry: a symlink's target is untouched
    except FileNotFoundError:
        return None
    except OSError as e:
        if os.path.islink(path):
            try:
                os.unlink(path)
                warn(f"{path}: {why}; removed the symlink")
            except OSError:
                warn(f"{path}: {why}; could not remove it ({e.strerror or e})")
            return None
        warn(f"{path}: {why}; could not set it aside ({e.strerror or e})")
        return None
    warn(f"{path}: {why}; set aside as {new.name}")
    return new


def real_dir(path: str | os.PathLike, warn) -> Path:
    """`path` as a real folder (created if missing): a symlink or a file there is set aside first,
    so nothing is ever created or deleted through a link."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISDIR(st.st_mode):
        set_aside(path, warn, "a symlink" if stat.S_ISLNK(st.st_mode) else "not a folder")
        st = None
    if st is None:
        try:
            os.mkdir(path)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                raise
    return path


def is_real_dir(path: str | os.PathLike) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


# --- the output folder ------------------------------------------------------------------------------


def _probe_create(folder: Path) -> None:
    """Create and remove a temporary file in `folder` (OSError if that is not possible)."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".verify-probe-", suffix=".tmp")
    os.close(fd)
    os.unlink(tmp)


def prepare_out_dir(out) -> Path:
    """The report folder, created if needed and checked writable before any work (InputError)."""
    if out is None or not str(out).strip():
        raise InputError("--out must name a folder (got an empty path)")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"--out {out}: cannot create the folder ({e.strerror or e})") from None
    if not path.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    try:
        _probe_create(path)
    except OSError as e:
        raise InputError(f"--out {out}: folder is not writable ({e.strerror or e})") from None
    return path


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    try:  # a zombie (exited, not yet reaped) holds no lock
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


class DirLock:
    """An exclusive lock on a report folder: `<folder>/.lock`, held with fcntl.flock (released by the
    kernel if the process dies) and holding the pid of its owner.

    A lock held by a live run is an InputError ("another verify run is using <folder>"); a lock
    file left by a dead process (no flock, pid not alive) is taken over with a warning."""

    def __init__(self, folder: str | os.PathLike, warn):
        self.folder = Path(folder)
        self.path = self.folder / ".lock"
        self.warn = warn
        self.fd: int | None = None

    def _busy(self, pid=None) -> InputError:
        who = f" (pid {pid})" if pid else ""
        return InputError(f"another verify run is using {self.folder}{who}; wait for it, or remove "
                          f"{self.path} if no run is active")

    def acquire(self) -> "DirLock":
        for _ in range(20):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o666)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.EMLINK) or os.path.islink(self.path):
                    set_aside(self.path, self.warn, "lock file is a symlink")
                    continue
                raise WriteError(f"cannot create the lock file {self.path} ({e.strerror or e})") from None
            try:
                state = self._try(fd)
            except BaseException:
                os.close(fd)
                raise
            if state == "held":
                self.fd = fd
                return self
            os.close(fd)
            if state == "not-regular":
                set_aside(self.path, self.warn, "lock file is not a regular file")
        raise self._busy()

    def _try(self, fd: int) -> str:
        import fcntl

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "not-regular"
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            raise self._busy(self._read_pid()) from None
        # The file may have been unlinked by its previous owner between our open and flock: then we
        # hold a lock on an orphan inode; start over.
        try:
            if not os.path.samestat(os.fstat(fd), os.lstat(self.path)):
                return "retry"
        except FileNotFoundError:
            return "retry"
        old = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
        if old:
            try:
                pid = int(old.split()[0])
            except ValueError:
                pid = 0
            if pid != os.getpid() and _pid_alive(pid):
                raise self._busy(pid)
            self.warn(f"{self.path}: stale lock of process {old.split()[0]} (not running); taking it over")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return "held"

    def _read_pid(self):
        try:
            return int(read_regular(self.path, 64).split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.ftruncate(self.fd, 0)
            try:
                if os.path.samestat(os.fstat(self.fd), os.lstat(self.path)):
                    os.unlink(self.path)
            except OSError:
                pass
        finally:
            os.close(self.fd)  # closing drops the flock
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False


def code_version() -> str:
    """Package version plus a hash of every source file of `verify/`: a cached result is reused
    only when neither the claim file nor this changed."""
    import verify

    root = Path(verify.__file__).parent
    h = hashlib.sha256(verify.__version__.encode())
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return f"{verify.__version__}+{h.hexdigest()[:16]}"


# Size budget of one array read from an .npz (checked from the .npy header before any data is read).
NPZ_MAX_ENTRIES = 50_000_000  # 400 MB as float64
_NPZ_KINDS = "fiu"  # float, signed and unsigned int; bool, complex, strings, dates, objects, structs refused


def _npz_header(fp, path: str, key: str):
    import numpy as np

    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise InputError(f"{path}: array {key!r} uses .npy format version {version}; expected 1.0 or 2.0")
    if dtype.hasobject or dtype.names is not None or dtype.subdtype is not None or dtype.kind not in _NPZ_KINDS:
        raise InputError(f"{path}: array {key!r} has dtype {str(dtype)[:40]}; expected real numbers (float or int)")
    if math.prod(shape) > NPZ_MAX_ENTRIES:
        raise InputError(f"{path}: array {key!r} has shape {shape} ({math.prod(shape):.3g} entries); "
                         f"the limit is {NPZ_MAX_ENTRIES:.0e} entries per array")
    return shape


def load_npz_arrays(path: str, keys: tuple[str, str], what: str):
    """The two float64 arrays `keys` of an .npz (`numpy.savez`), each .npy header checked (dtype, size budget)
    before its data is read; pickles are never loaded. Every defect of the file is an InputError."""
    import stat
    import struct
    import zipfile
    import zlib

    import numpy as np

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or type(e).__name__})") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: not a regular file")
    arrays = []
    try:
        with open(path, "rb") as raw:
            if raw.read(6) == b"\x93NUMPY":
                raise InputError(f"{path}: this is a single-array .npy file; the {what} file must be an .npz "
                                 f"with arrays {', '.join(keys)} (numpy.savez)")
            raw.seek(0)
            with zipfile.ZipFile(raw) as zf:
                names = set(zf.namelist())
                missing = [k for k in keys if f"{k}.npy" not in names]
                if missing:
                    raise InputError(f"{path}: {what} file needs arrays {', '.join(keys)} (missing {missing[0]!r})")
                for k in keys:
                    with zf.open(f"{k}.npy") as fp:
                        shape = _npz_header(fp, path, k)
                    with zf.open(f"{k}.npy") as fp:
                        a = np.lib.format.read_array(fp, allow_pickle=False)
                    if a.shape != shape:  # pragma: no cover - read_array honours the header
                        raise InputError(f"{path}: array {k!r} does not match its header")
                    with np.errstate(all="ignore"):  # float128 beyond float64 becomes inf, refused below
                        arrays.append(np.asarray(a, dtype=float))
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{path}: the arrays do not fit in memory") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError,
            struct.error, KeyError, OverflowError, UnicodeDecodeError) as e:
        msg = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise InputError(f"{path}: not a readable .npz file ({msg})") from None
    w, V = arrays
    if w.ndim != 1 or V.ndim != 2 or V.shape[0] != w.shape[0]:
        raise InputError(f"{path}: {keys[0]} must have shape (n,) and {keys[1]} shape (n, d); got {w.shape} and {V.shape}")
    if w.shape[0] == 0:
        raise InputError(f"{path}: the {what} network has no neurons")
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(V))):
        raise InputError(f"{path}: {what} weights contain NaN or inf (or values beyond float64)")
    return w, V
