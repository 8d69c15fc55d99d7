"""The team's own vocabulary: words and phrases that mean the same thing in its knowledge base.

Askers use their words and the documents use theirs: "freeze an account" where the runbook
says "close an account", "on my machine" where onboarding says "local development". Lexical
search cannot know that the two go together; a synonyms file tells it. One group a line,
members separated by commas, ``#`` starts a comment line:

    freeze, close account
    on my machine, locally, local development

Members are analysed like any text (stop words dropped, words stemmed), so "closing" in a
document matches "close" in the file. A question holding every word of one member is
searched with the other members' words too, and a passage holding any member of the group
counts as holding the question's words for it (see :class:`SynonymMatch`).

The file is read again when it changes (:class:`SynonymsFile`), so an edit applies to the
next question without re-indexing or restarting.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from pathlib import Path

from ledger_bot.errors import ConfigError
from ledger_bot.terms import analyze

log = logging.getLogger(__name__)

# A group stands for its members in term sets under a name no analysed text can produce
# (terms are runs of letters and digits).
GROUP_TERM_PREFIX = "≡"
MAX_FILE_BYTES = 1_000_000
SETTING = "LEDGER_BOT_SYNONYMS_FILE"


@dataclass(frozen=True, slots=True)
class SynonymGroup:
    """One line of the file: its members' index terms, and the term standing for all of them."""

    term: str
    members: tuple[frozenset[str], ...]

    def is_in(self, terms: Set[str]) -> bool:
        """Whether ``terms`` (a passage's) hold every word of at least one member."""
        return any(member <= terms for member in self.members)


@dataclass(frozen=True, slots=True)
class SynonymMatch:
    """A group that a question names: ``replaces`` are the question's terms it stands for,
    ``adds`` the other members' terms, which the question is searched with too."""

    group: SynonymGroup
    replaces: frozenset[str]
    adds: tuple[str, ...]


class Synonyms:
    """The groups of a synonyms file, indexed by term."""

    def __init__(self, groups: Sequence[SynonymGroup] = ()) -> None:
        self.groups = tuple(groups)
        self._by_term: dict[str, list[SynonymGroup]] = {}
        for group in self.groups:
            for term in frozenset().union(*group.members):
                self._by_term.setdefault(term, []).append(group)

    def __len__(self) -> int:
        return len(self.groups)

    def match(self, terms: Iterable[str]) -> list[SynonymMatch]:
        """The groups that ``terms`` (a question's) name, in the order of the file."""
        present = set(terms)
        candidates = {
            group.term: group for term in present for group in self._by_term.get(term, ())
        }
        matches = []
        for group in sorted(candidates.values(), key=lambda g: int(g.term[1:])):
            named = [member for member in group.members if member <= present]
            if not named:
                continue
            adds = [term for member in group.members for term in sorted(member - present)]
            matches.append(
                SynonymMatch(group, frozenset().union(*named), tuple(dict.fromkeys(adds)))
            )
        return matches

    def expand(self, terms: Sequence[str]) -> list[str]:
        """``terms`` followed by the words of the other members of every group they name."""
        added = [term for match in self.match(terms) for term in match.adds]
        return list(dict.fromkeys([*terms, *added]))


NO_SYNONYMS = Synonyms()


def parse_synonyms(text: str, origin: str = "synonyms") -> Synonyms:
    """The groups in ``text``. Raises ConfigError naming ``origin`` and the line of the first
    mistake: an empty member, a member of stop words only, a line with fewer than two members.
    """
    groups: list[SynonymGroup] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{origin}, line {number}"
        members: list[frozenset[str]] = []
        for raw in line.split(","):
            member = raw.strip()
            if not member:
                raise ConfigError(
                    f"{where}: empty member (two commas in a row, or one at an end); "
                    "separate the words or phrases of a group with single commas"
                )
            terms = frozenset(analyze(member))
            if not terms:
                raise ConfigError(
                    f"{where}: {member!r} has no word that search uses (only words such as "
                    "'the' or 'how'); give a more specific word or phrase"
                )
            if terms not in members:
                members.append(terms)
        if len(members) < 2:
            raise ConfigError(
                f"{where}: a group needs at least two different words or phrases, separated "
                f"by commas (as in 'freeze, close account'); found {line!r}"
            )
        groups.append(SynonymGroup(f"{GROUP_TERM_PREFIX}{len(groups)}", tuple(members)))
    return Synonyms(groups)


def load_synonyms(path: Path) -> Synonyms:
    """The synonyms in the file at ``path``. Raises ConfigError naming the setting, the file
    and what to do when it cannot be read, is not UTF-8 text or holds a mistake."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{SETTING}: cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(
            f"{SETTING}: {path} is larger than {MAX_FILE_BYTES:,} bytes; "
            "a synonyms file holds a few hundred short lines"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{SETTING}: {path}, line {line}: not UTF-8 text; save the file as UTF-8"
        ) from None
    return parse_synonyms(text, f"{SETTING}: {path}")


# What identifies one version of a file: device, inode, modification time, size.
_Stamp = tuple[int, int, int, int]


class SynonymsFile:
    """A synonyms file, read again when it changes.

    The first read happens here. With ``strict`` (a one-off command) it raises ConfigError,
    so a mistake stops the start; otherwise (a server, whose file may come from a checkout
    that is not there yet) it is logged and the file is read again once it changes. Later, a
    version that cannot be read or has a mistake is logged once and the last good one stays
    in use: an edit in progress never takes the vocabulary away.
    """

    def __init__(self, path: Path, *, strict: bool = True) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self._synonyms = NO_SYNONYMS
        try:
            self._synonyms = load_synonyms(path)
        except ConfigError as exc:
            if strict:
                raise
            log.warning(
                "synonyms file not loaded; searching without it", extra={"reason": str(exc)}
            )

    def _stat(self) -> _Stamp | None:
        try:
            status = os.stat(self.path)  # noqa: PTH116 - one call, through symlinks
        except OSError:
            return None
        return (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_size)

    def current(self) -> Synonyms:
        """The synonyms of the file's latest good version."""
        stamp = self._stat()
        if stamp == self._stamp:
            return self._synonyms
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._synonyms = load_synonyms(self.path)
                except ConfigError as exc:
                    log.warning(
                        "synonyms file not reloaded; the previous version stays in use",
                        extra={"reason": str(exc)},
                    )
                else:
                    log.info(
                        "synonyms file reloaded",
                        extra={"path": str(self.path), "groups": len(self._synonyms)},
                    )
        return self._synonyms
