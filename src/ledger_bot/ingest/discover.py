"""Finding the files to index under the folders and files an operator names."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ledger_bot.ingest.decoding import is_unicode
from ledger_bot.ingest.dispatch import SUPPORTED_SUFFIXES

_JUNK_DIRS = frozenset({"node_modules", "__pycache__"})
# A name in another encoding (Latin-1 from an old archive, say) cannot be a source id.
NOT_UTF8_NAME = "name is not valid UTF-8: rename it"


@dataclass(frozen=True, slots=True)
class FoundFile:
    """A file to index. ``relpath`` (POSIX, relative to ``root``) is its stable source id."""

    root: Path  # the folder given (resolved), or the file's folder when a file is given
    path: Path  # absolute: root / relpath, symlinks below root not resolved
    relpath: str


@dataclass(frozen=True, slots=True)
class SkippedPath:
    """A path that was named, or found in a folder, but cannot be indexed."""

    path: str
    reason: str


def discover(
    paths: Sequence[Path], exclude: Sequence[Path] = ()
) -> tuple[list[FoundFile], list[SkippedPath]]:
    """Walk ``paths`` in a sorted, deterministic order and never raise for a bad path.

    Folders are walked recursively, following symlinks; each real folder and file is visited
    once, so symlink loops end. Hidden names (``.git``, ``.env``) and ``node_modules`` /
    ``__pycache__`` are skipped inside folders, as are files of unsupported types, and the
    files of ``exclude`` (the synonyms file) wherever they are found. A named path that is
    missing, unreadable or unsupported is returned as a ``SkippedPath``.
    """
    walk = _Walk()
    for path in exclude:
        status = _stat(Path(path))
        if not isinstance(status, str):
            walk.excluded.add(_key(status))
    for path in paths:
        walk.add(Path(path))
    return walk.found, walk.skipped


@dataclass(frozen=True, slots=True)
class _Folder:
    path: Path
    parts: tuple[str, ...]  # the folder's relpath, split
    key: tuple[int, int]  # (device, inode) of the real folder
    ancestors: frozenset[tuple[int, int]]  # the keys of the folders above, and its own


def absolute(path: Path) -> Path:
    """``path`` made absolute and normalised, with its symlinks left as they are: the key a
    source is indexed under."""
    return Path(os.path.abspath(path))  # noqa: PTH100 - resolve() would follow symlinks


@dataclass(slots=True)
class _Walk:
    found: list[FoundFile] = field(default_factory=list)
    skipped: list[SkippedPath] = field(default_factory=list)
    seen_dirs: dict[tuple[int, int], str] = field(default_factory=dict)
    seen_files: dict[tuple[int, int], str] = field(default_factory=dict)
    excluded: set[tuple[int, int]] = field(default_factory=set)

    def add(self, path: Path) -> None:
        status = _stat(path)
        if isinstance(status, str):
            self.skipped.append(SkippedPath(str(path), status))
        elif not is_unicode(str(absolute(path))):
            self.skipped.append(SkippedPath(str(path), NOT_UTF8_NAME))
        elif stat.S_ISDIR(status.st_mode):
            # Absolute but not resolved: a source given as a symlink (git-sync's `current`)
            # stays the same root when the link moves to a new checkout.
            self._walk_root(absolute(path), status)
        elif not stat.S_ISREG(status.st_mode):
            self.skipped.append(SkippedPath(str(path), "not a regular file"))
        elif not _is_supported(path.name):
            self.skipped.append(SkippedPath(str(path), "unsupported file type"))
        else:
            given = absolute(path)
            self._add_file(given.parent, given.name, status)

    def _walk_root(self, root: Path, status: os.stat_result) -> None:
        found_before = len(self.found)
        if self._enter(root, status, frozenset()):
            # Depth first without recursion, so a deep tree cannot exhaust the stack.
            key = _key(status)
            stack = [_Folder(root, (), key, frozenset({key}))]
            while stack:
                stack.extend(reversed(self._visit(root, stack.pop())))
        self.found[found_before:] = sorted(self.found[found_before:], key=lambda f: f.relpath)

    def _visit(self, root: Path, folder: _Folder) -> list[_Folder]:
        """Record the files in ``folder`` and return its subfolders to visit, in name order."""
        try:
            with os.scandir(folder.path) as listing:
                names = sorted(entry.name for entry in listing)
        except OSError as exc:
            self.skipped.append(SkippedPath(str(folder.path), _reason(exc, folder.path)))
            del self.seen_dirs[folder.key]  # not included after all
            return []
        subfolders: list[_Folder] = []
        for name in names:
            if name.startswith("."):
                continue
            path, supported = folder.path / name, _is_supported(name)
            status = _stat(path)
            if not is_unicode(name):
                is_folder = not isinstance(status, str) and stat.S_ISDIR(status.st_mode)
                if supported or is_folder:
                    self.skipped.append(SkippedPath(str(path), NOT_UTF8_NAME))
            elif isinstance(status, str):
                if supported or status != "broken symlink":
                    self.skipped.append(SkippedPath(str(path), status))
            elif stat.S_ISDIR(status.st_mode):
                if name not in _JUNK_DIRS and self._enter(path, status, folder.ancestors):
                    key = _key(status)
                    subfolders.append(
                        _Folder(path, (*folder.parts, name), key, folder.ancestors | {key})
                    )
            elif supported and stat.S_ISREG(status.st_mode):
                self._add_file(root, "/".join((*folder.parts, name)), status)
            elif supported:
                self.skipped.append(SkippedPath(str(path), "not a regular file"))
        return subfolders

    def _enter(
        self, path: Path, status: os.stat_result, ancestors: frozenset[tuple[int, int]]
    ) -> bool:
        key = _key(status)
        if key in ancestors:
            self.skipped.append(SkippedPath(str(path), "symlink loop"))
            return False
        if key in self.seen_dirs:
            self.skipped.append(
                SkippedPath(str(path), f"already included as {self.seen_dirs[key]}")
            )
            return False
        self.seen_dirs[key] = str(path)
        return True

    def _add_file(self, root: Path, relpath: str, status: os.stat_result) -> None:
        path = root / relpath
        key = _key(status)
        if key in self.excluded:
            return
        if key in self.seen_files:
            self.skipped.append(
                SkippedPath(str(path), f"already included as {self.seen_files[key]}")
            )
        elif not os.access(path, os.R_OK):
            self.skipped.append(SkippedPath(str(path), "permission denied"))
        else:
            self.seen_files[key] = str(path)
            self.found.append(FoundFile(root=root, path=path, relpath=relpath))


def _is_supported(name: str) -> bool:
    return Path(name).suffix.lower() in SUPPORTED_SUFFIXES


def _key(status: os.stat_result) -> tuple[int, int]:
    return (status.st_dev, status.st_ino)


def _stat(path: Path) -> os.stat_result | str:
    """The status of ``path`` after following symlinks, or why it cannot be had."""
    try:
        return path.stat()
    except OSError as exc:
        return _reason(exc, path)


def _reason(exc: OSError, path: Path) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "broken symlink" if _is_symlink(path) else "not found"
    return (exc.strerror or str(exc)).lower()


def _is_symlink(path: Path) -> bool:
    try:
        return path.is_symlink()
    except OSError:
        return False
