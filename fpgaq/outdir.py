"""Output folders: what fpgaq owns in them, atomic writes, and one writer at a time.

A folder fpgaq writes (a build folder, the demo's folder) holds a manifest, `.fpgaq-build`, listing every
file and folder fpgaq put there; it is written last, so a folder without it is incomplete (an interrupted
build) and nothing reads it. The rules:

- fpgaq deletes or replaces only what its manifest lists: a user's file is never touched, even with --force
  (--force only allows writing into a non-empty folder that fpgaq did not create; a name fpgaq needs that
  holds a user's file is an error). Links are removed, never followed.
- A build is staged in a hidden folder inside the output folder and moved into place at the end, so an
  interrupted build leaves the previous build intact, and the inputs (even a model inside the folder) are
  read before anything is replaced.
- Writers take an exclusive lock on the folder, readers a shared one (flock on the folder itself): two
  builds into one folder cannot interleave; the second stops with an error.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from fpgaq import __version__
from fpgaq.errors import FpgaqError

MANIFEST = ".fpgaq-build"
STAGING_PREFIX = ".fpgaq-staging-"
UPDATE_LOCK = ".fpgaq-lock"  # serializes updates of single files (reports) between readers of a folder


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file


class OutputError(FpgaqError):
    """An output folder or file cannot be written as asked."""


TOOL_PATH = re.compile(r"[A-Za-z0-9_.+\-/]+")  # what Xilinx's tools and their make files handle in a path


def tool_path_problem(folder: str | os.PathLike) -> str | None:
    """Why the vendor tools (Vitis HLS, Vivado) cannot work in `folder`, or None when they can."""
    path = os.path.abspath(folder)
    if TOOL_PATH.fullmatch(path):
        return None
    bad = "".join(sorted({ch for ch in path if not TOOL_PATH.fullmatch(ch)}))
    return (
        f"the build folder's path {path!r} contains {bad!r}; Vitis HLS and Vivado need a path of letters, digits "
        "and _.+-/ only"
    )


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write a whole file or nothing: a temporary file beside it, renamed over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:64]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            os.fchmod(f.fileno(), _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked(folder: str | os.PathLike, exclusive: bool = True) -> Iterator[None]:
    """Hold a lock on an existing folder: exclusive for writers, shared for readers; never waits."""
    folder = Path(folder)
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise OutputError(f"cannot open folder {str(folder)!r}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            raise OutputError(
                f"another fpgaq command is using {str(folder)!r}; wait for it to finish or choose another folder"
            ) from None
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def updating(folder: str | os.PathLike) -> Iterator[None]:
    """Change single files of a complete fpgaq folder (its report, its manifest): a reader's lock on the folder,
    so that no build replaces it meanwhile, and one updater at a time (waits for the other)."""
    folder = Path(folder)
    with locked(folder, exclusive=False):
        try:
            fd = os.open(folder / UPDATE_LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise OutputError(f"cannot open {str(folder / UPDATE_LOCK)!r}: {exc.strerror}; remove it") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _check_entry(entry, folder: Path) -> str:
    if not isinstance(entry, str) or not entry or "\x00" in entry or "\\" in entry:
        raise OutputError(f"{str(folder / MANIFEST)!r} is damaged (entry {entry!r})")
    path = PurePosixPath(entry)
    if path.is_absolute() or any(part in ("", ".", "..") for part in entry.split("/")):
        raise OutputError(f"{str(folder / MANIFEST)!r} is damaged (entry {entry!r} leaves the folder)")
    return entry


def read_manifest(folder: str | os.PathLike) -> dict | None:
    """The validated manifest {"files", "dirs", "trees"} of an fpgaq folder; None when there is none."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file() or path.is_symlink():
        return None
    if path.stat().st_size > 100_000_000:
        raise OutputError(f"{str(path)!r} is damaged (too large)")
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, RecursionError):
        raise OutputError(f"{str(path)!r} is damaged (not JSON)") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k, []), list) for k in ("files", "dirs", "trees")):
        raise OutputError(f"{str(path)!r} is damaged (not an fpgaq manifest)")
    return {k: [_check_entry(e, folder) for e in data.get(k, [])] for k in ("files", "dirs", "trees")}


def is_complete(folder: str | os.PathLike) -> bool:
    try:
        return read_manifest(folder) is not None
    except OutputError:
        return False


def owned(path: str | os.PathLike) -> Path | None:
    """The fpgaq folder whose manifest lists `path` (a file it wrote, or something inside a folder it owns)."""
    target = Path(os.path.abspath(path))
    for folder in target.parents:
        try:
            manifest = read_manifest(folder)
        except OutputError:
            continue
        if manifest is None:
            continue
        rel = target.relative_to(folder).as_posix()
        if rel in manifest["files"] or any(rel == t or rel.startswith(t + "/") for t in manifest["trees"]):
            return folder
    return None


def refuse_overwrite(path: str | os.PathLike, inputs=(), what: str = "output") -> None:
    """Refuse an output file that is one of the inputs or a file an fpgaq folder owns."""
    target = Path(os.path.abspath(path))
    for source in inputs:
        if source is not None and os.path.exists(source) and os.path.exists(target):
            if os.path.samefile(source, target):
                raise OutputError(f"{what} {str(path)!r} is also an input; choose another file")
    folder = owned(target)
    if folder is not None:
        raise OutputError(f"{what} {str(path)!r} would overwrite a file of the fpgaq folder {str(folder)!r}")
    if target.is_dir():
        raise OutputError(f"{what} {str(path)!r} is a folder")


def _remove(path: Path, root: Path | None = None) -> None:
    """Delete a file, a link (not its target) or a folder tree; missing is fine. With `root`, nothing is
    deleted when a folder between root and path is a link (a user may have replaced a folder by one)."""
    if root is not None:
        for parent in path.relative_to(root).parents:
            if parent != Path(".") and (root / parent).is_symlink():
                return
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink()
        else:
            shutil.rmtree(path)
    except FileNotFoundError:
        pass


class Folder:
    """An output folder that fpgaq writes as a whole: claim it, stage the new content, commit it."""

    def __init__(self, path: str | os.PathLike, force: bool = False):
        self.path = Path(path)
        self.force = force

    def create(self) -> None:
        """Make the folder if it does not exist."""
        out = self.path
        if out.is_symlink() and not out.exists():
            raise OutputError(f"output {str(out)!r} is a broken link")
        if out.exists() and not out.is_dir():
            raise OutputError(f"output {str(out)!r} exists and is not a folder")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create the output folder {str(out)!r}: {exc.strerror}") from None

    def claim(self) -> dict:
        """The folder's current manifest (empty when fpgaq owns nothing here); refuses a user's non-empty
        folder without --force. Call it under the lock."""
        out = self.path
        try:
            manifest = read_manifest(out)
        except OutputError:
            if not self.force:
                raise
            manifest = None
        others = [p for p in out.iterdir() if not p.name.startswith(STAGING_PREFIX) and p.name != UPDATE_LOCK]
        if manifest is None and others and not self.force:
            raise OutputError(
                f"output folder {str(out)!r} exists and was not created by fpgaq; use --force to write into it "
                "(fpgaq never replaces files it did not write)"
            )
        return manifest or {"files": [], "dirs": [], "trees": []}

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A fresh hidden folder inside the output folder (same file system: the commit only renames)."""
        for stale in self.path.glob(STAGING_PREFIX + "*"):
            _remove(stale)  # left by a build that was killed; we hold the lock, so nobody uses it
        stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.path))
        try:
            yield stage
        finally:
            _remove(stage)

    def commit(self, stage: Path, old: dict) -> dict:
        """Replace what fpgaq wrote before by the staged files; returns the new manifest."""
        out = self.path
        files = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
        mine = set(old["files"])
        for rel in files:
            self._check_target(rel, mine, set(old["trees"]))
        (out / MANIFEST).unlink(missing_ok=True)  # from here on the folder is incomplete
        for rel in old["trees"] + old["files"]:
            _remove(out / rel, out)
        for rel in sorted(old["dirs"], key=lambda d: -d.count("/")):
            with contextlib.suppress(OSError):
                (out / rel).rmdir()  # only when empty: a user's file inside keeps the folder
        dirs = {d for d in old["dirs"] if (out / d).is_dir()}
        for rel in files:
            parent = PurePosixPath(rel).parent
            for depth in range(1, len(parent.parts) + 1):
                sub = "/".join(parent.parts[:depth])
                if not (out / sub).exists():
                    (out / sub).mkdir()
                    dirs.add(sub)
            os.replace(stage / rel, out / rel)
        manifest = {"fpgaq": __version__, "files": files, "dirs": sorted(dirs), "trees": []}
        write_atomic(out / MANIFEST, json.dumps(manifest, indent=1) + "\n")
        return manifest

    def _check_target(self, rel: str, mine: set, trees: set) -> None:
        out = self.path
        parts = PurePosixPath(rel).parts
        for depth in range(1, len(parts)):
            sub = out.joinpath(*parts[:depth])
            if sub.is_symlink() or (sub.exists() and not sub.is_dir()):
                raise OutputError(f"{str(sub)!r} is a link or a file where fpgaq writes a folder; move it away")
        target = out / rel
        if (target.exists() or target.is_symlink()) and rel not in mine:
            if any(rel == t or rel.startswith(t + "/") for t in trees):
                return
            raise OutputError(f"{str(target)!r} was not written by fpgaq and would be replaced; move it away")

    def own(self, files=(), trees=()) -> None:
        """Add files or whole folders that fpgaq wrote later (fpgaq synth) to the manifest."""
        manifest = read_manifest(self.path)
        if manifest is None:
            raise OutputError(f"{str(self.path)!r} is not a complete fpgaq folder")
        manifest["files"] = sorted(set(manifest["files"]) | {str(f) for f in files})
        manifest["trees"] = sorted(set(manifest["trees"]) | {str(t) for t in trees})
        manifest["fpgaq"] = __version__
        write_atomic(self.path / MANIFEST, json.dumps(manifest, indent=1) + "\n")

    def check_free(self, rel: str) -> None:
        """Refuse to let a tool write into `rel` when it exists and fpgaq does not own it."""
        manifest = read_manifest(self.path) or {"files": [], "dirs": [], "trees": []}
        target = self.path / rel
        if (target.exists() or target.is_symlink()) and rel not in manifest["trees"] + manifest["files"]:
            raise OutputError(f"{str(target)!r} exists and was not written by fpgaq; move it away")


@contextlib.contextmanager
def rewrite(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Write a new content for an fpgaq folder: the block fills the staging folder it is given; when it ends
    without an error, what fpgaq wrote before is replaced by it (under the folder's writer lock)."""
    folder = Folder(path, force)
    folder.create()
    with locked(folder.path):
        old = folder.claim()
        with folder.staging() as stage:
            yield stage
            folder.commit(stage, old)
