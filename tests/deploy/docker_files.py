"""Reading a Dockerfile's instructions and deciding what a ``.dockerignore`` leaves out of the
build context, the way Docker does (moby/patternmatcher), without a Docker engine."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    arguments: str  # continuation lines joined
    stage: int  # 0 for the first FROM's stage, 1 for the next, ...


def instructions(dockerfile: Path) -> list[Instruction]:
    """The instructions of ``dockerfile``, comments dropped and continued lines joined."""
    found: list[Instruction] = []
    stage = -1
    pending = ""
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") or not (line.strip() or pending):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        if not text:
            continue
        keyword, _, arguments = text.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        found.append(Instruction(keyword, " ".join(arguments.split()), stage))
    return found


@dataclass(frozen=True, slots=True)
class _Pattern:
    regex: re.Pattern[str]
    exclusion: bool  # a `!pattern`, which lets back in what an earlier pattern left out


def _compile(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regular expression over slash-separated relative paths:
    ``**`` spans any number of folders, ``*`` and ``?`` stay within one, ``[...]`` is a class."""
    regex = "^"
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            index += 2
            if pattern.startswith("/", index):
                index += 1
            regex += ".*" if index >= len(pattern) else "(.*/)?"
            continue
        if char == "*":
            regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif char == "[":
            end = pattern.index("]", index)
            regex += pattern[index : end + 1]
            index = end
        else:
            regex += re.escape(char)
        index += 1
    return re.compile(regex + "$")


class DockerIgnore:
    """The patterns of one ``.dockerignore`` file."""

    def __init__(self, text: str) -> None:
        self.patterns: list[_Pattern] = []
        self.lines: list[str] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            self.lines.append(line)
            exclusion = line.startswith("!")
            cleaned = posixpath.normpath(line.removeprefix("!").strip()).lstrip("/")
            self.patterns.append(_Pattern(_compile(cleaned), exclusion))

    def is_ignored(self, path: str) -> bool:
        """Whether the file at ``path`` (relative, with slashes) stays out of the context.

        A pattern matches a file or any folder above it; the last pattern that applies wins.
        """
        parts = path.split("/")
        parents = ["/".join(parts[:end]) for end in range(1, len(parts))]
        ignored = False
        for pattern in self.patterns:
            if pattern.exclusion != ignored:
                continue  # only a `!` pattern can change an ignored path, and vice versa
            if pattern.regex.match(path) or any(pattern.regex.match(p) for p in parents):
                ignored = not pattern.exclusion
        return ignored
