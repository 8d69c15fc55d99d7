"""Secrets given as a setting's value or as a file, such as a mounted Kubernetes Secret.

A file is read again whenever it changes, so a rotated secret takes effect without a restart.
Kubernetes updates a mounted Secret by pointing the ``..data`` symlink at a new folder; the
file is stat'ed through its symlinks, so that swap is seen even when the new file has the
old one's size and modification time (its inode differs).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ledger_bot.errors import ConfigError

# What identifies one version of a file: device, inode, modification time, size.
_Stamp = tuple[int, int, int, int]


def _stamp(status: os.stat_result) -> _Stamp:
    return (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_size)


class Secret:
    """A secret setting: ``value`` (from ``name``), or the content of ``file`` (from ``name_FILE``).

    The file wins when both are given. ``str()`` and ``repr()`` never show the value.
    """

    __slots__ = ("_current", "_file", "_lock", "_name", "_rotated", "_stamp", "_value")

    def __init__(self, name: str, value: str | None = None, file: Path | None = None) -> None:
        self._name = name
        self._value = value or None  # an empty variable counts as unset
        self._file = file
        self._lock = threading.Lock()
        self._stamp: _Stamp | None = None
        self._current: str | None = None
        self._rotated = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def rotated(self) -> int:
        """How many times the value changed since this object was made."""
        return self._rotated

    def get(self) -> str | None:
        """The current value, or None when unset; a file is re-read when it changed.

        Trailing whitespace (the newline ``echo`` and editors add) is dropped. Raises
        ConfigError naming the variable and the file when the file cannot be read or is empty.
        """
        if self._file is None:
            return self._value
        with self._lock:
            try:
                try:
                    self._refresh(self._file)
                except FileNotFoundError:
                    # Kubernetes deletes the old version right after swapping ``..data``;
                    # a read that raced the swap finds the new version on a second try.
                    self._refresh(self._file)
            except OSError as exc:
                reason = exc.strerror or str(exc)
                raise ConfigError(
                    f"{self._name}_FILE: cannot read {self._file}: {reason}"
                ) from None
            return self._current

    def require(self) -> str:
        """Like :meth:`get`, but raises ConfigError naming both variables when unset."""
        value = self.get()
        if value is None:
            raise ConfigError(f"set {self._name} or {self._name}_FILE")
        return value

    def _refresh(self, file: Path) -> None:
        """Read ``file`` again if it changed since the last read (call with the lock held)."""
        if _stamp(file.stat()) == self._stamp:
            return
        with file.open("rb") as handle:
            stamp = _stamp(os.fstat(handle.fileno()))  # of the version actually read
            data = handle.read()
        try:
            text = data.decode("utf-8").rstrip()
        except UnicodeDecodeError:
            raise ConfigError(
                f"{self._name}_FILE: {file} is not UTF-8 text; write the secret as plain text"
            ) from None
        if not text:
            raise ConfigError(f"{self._name}_FILE: {file} is empty; write the secret into it")
        if self._stamp is not None and text != self._current:
            self._rotated += 1
        self._current, self._stamp = text, stamp

    def __repr__(self) -> str:
        if self._file is not None:
            return f"Secret({self._name}, from file {self._file})"
        return f"Secret({self._name}, {'set' if self._value is not None else 'unset'})"

    __str__ = __repr__
