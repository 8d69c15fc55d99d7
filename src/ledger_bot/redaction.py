"""Removing secrets from text before it is logged, stored or shown.

:func:`redact` replaces every credential it recognises with a marker naming its kind, such as
``[redacted:slack-token]``, and leaves everything else as it was: ordinary prose, hashes,
UUIDs, Markdown and code come out unchanged. It is idempotent, so text can pass through it
more than once (a question is redacted when stored and again when logged).

Each kind of secret is one or more precompiled patterns, each starting with a literal so the
regex engine can skip ahead to candidates; no pattern can backtrack without bound, so a
megabyte of text takes a few tens of milliseconds whatever it holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["contains_secret", "marker", "redact"]


def marker(kind: str) -> str:
    """The text a secret of ``kind`` is replaced with: ``[redacted:<kind>]``."""
    return f"[redacted:{kind}]"


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    # Builds the replacement of a match from the match and the text it was found in; by
    # default the whole match becomes the marker.
    replace: Callable[[re.Match[str], str], str] | None = None
    # A case-insensitive rule is written in lower case and searched for in the lower-cased
    # text, which is much faster than re.IGNORECASE; replacements are cut from the original.
    folded: bool = False

    def apply(self, text: str, folded: str) -> str:
        """``text`` with this rule's matches replaced; ``folded`` is ``_fold(text)``."""
        if not self.folded:
            if self.replace is None:
                return self.pattern.sub(marker(self.kind), text)
            replace = self.replace
            return self.pattern.sub(lambda match: replace(match, text), text)
        pieces: list[str] = []
        last = 0
        for match in self.pattern.finditer(folded):
            pieces.append(text[last : match.start()])
            pieces.append(self.replace(match, text) if self.replace else marker(self.kind))
            last = match.end()
        if not pieces:
            return text
        pieces.append(text[last:])
        return "".join(pieces)


def _fold(text: str) -> str:
    """``text`` in lower case, each character where it was (U+0130 alone lowers to two)."""
    folded = text.lower()
    if len(folded) != len(text):
        folded = text.replace("\u0130", "i").lower()
    return folded


def _original(match: re.Match[str], text: str, group: str) -> str:
    """What ``group`` of a match in the folded text is in the original text."""
    start, end = match.span(group)
    return text[start:end]


_PLACEHOLDER_WORDS = frozenset(
    {"none", "null", "nil", "true", "false", "undefined", "redacted", "changeme", "xxx"}
)


def _is_placeholder(value: str) -> bool:
    """Whether a value next to a secret-sounding name is not a secret itself.

    Already redacted text, variables and templates (``$DB_PASSWORD``, ``${...}``,
    ``{{ ... }}``, ``<your-token>``, ``%(password)s``), code (``get_password()``,
    ``env['X']``), literals (``None``, ``true``) and masks (``****``, ``...``) are left alone.
    """
    stripped = value.strip()
    return (
        not stripped
        or stripped[0] in "$[{<%*`"
        or "(" in stripped
        or "[" in stripped
        or stripped.lower() in _PLACEHOLDER_WORDS
        or set(stripped) <= set("*.x•")
    )


def _looks_random(value: str) -> bool:
    """Whether an unquoted value after ``name:`` looks like a credential rather than prose."""
    return (
        len(value) >= 6
        and any(char.isdigit() for char in value)
        and any(char.isalpha() for char in value)
    )


# -- key-value pairs ---------------------------------------------------------------------------

# One pattern for each name: the regex engine finds a pattern starting with a literal much
# faster than one starting with an alternation.
_SECRET_NAMES = (
    r"api[_-]?key",
    r"access[_-]?key",
    r"private[_-]?key",
    r"secret(?:[_-]?key)?",
    r"token",
    r"passw(?:or)?d",
)
_KEY_VALUES = tuple(
    re.compile(
        rf"(?P<key>{name})(?P<sep>[\"']?[ \t]*[=:][ \t]*)"
        r"(?:\"(?P<dq>[^\"\n]*)\"|'(?P<sq>[^'\n]*)'|(?P<bare>[^\s\"'&;,)}\]<>]+))"
    )
    for name in _SECRET_NAMES
)


def _replace_key_value(match: re.Match[str], text: str) -> str:
    key, sep = _original(match, text, "key"), match["sep"]
    kind = "password" if key.lower().startswith("passw") else "secret"
    quote = '"' if match["dq"] is not None else "'" if match["sq"] is not None else ""
    value = _original(match, text, {'"': "dq", "'": "sq", "": "bare"}[quote])
    if _is_placeholder(value):
        return text[match.start() : match.end()]
    # "Password: at least 12 characters" is prose; "password: hunter42" is not, and neither
    # is "password: correcthorse" alone at the end of a line (YAML) under a lower-case name.
    if ":" in sep and not quote and not _looks_random(value):
        ends_line = text[match.end() : match.end() + 1] in {"", "\n", "\r"}
        if not (ends_line and key.islower()):
            return text[match.start() : match.end()]
    return f"{key}{sep}{quote}{marker(kind)}{quote}"


# -- the rest of the rules that keep some of what they match -----------------------------------

_URL_PASSWORD = re.compile(r"(?P<prefix>://[^\s:/@\[\]]*:)(?P<password>[^\s/@]+)@")


def _replace_url_password(match: re.Match[str], text: str) -> str:
    if _is_placeholder(match["password"]):
        return match[0]
    return f"{match['prefix']}{marker('password')}@"


# Labelled only: an unlabelled AWS secret key is 40 characters of base64 like many others.
# The label may start with "aws_"; the match starts at "secret" so that it can be found fast.
_AWS_SECRET = re.compile(
    r"secret_?(?:access_?)?key(?P<sep>[\"']?[ \t]*[=:][ \t]*[\"']?)"
    r"(?P<value>[a-z0-9/+]{40})(?![a-z0-9/+=])"
)


def _replace_aws_secret(match: re.Match[str], text: str) -> str:
    return text[match.start() : match.start("value")] + marker("aws-secret-key")


# A token has a digit: "Bearer authentication-schemes" is prose.
_BEARER = re.compile(
    r"bearer(?<![a-z0-9_]bearer)[ \t]+(?P<token>(?=[a-z0-9._~+/-]*[0-9])[a-z0-9._~+/-]{16,}=*)"
)
_BASIC_AUTH = re.compile(
    r"authorization[\"']?[ \t]*[:=][ \t]*[\"']?basic[ \t]+(?P<token>[a-z0-9+/]{8,}=*)"
)


def _replace_token(kind: str) -> Callable[[re.Match[str], str], str]:
    def replace(match: re.Match[str], text: str) -> str:
        return text[match.start() : match.start("token")] + marker(kind)

    return replace


# A PEM block runs to its END line. Its body may hold base64, header lines (Proc-Type: …,
# DEK-Info: …) and escaped newlines (keys inside JSON), but never another "-----"; the
# possessive quantifiers keep a block without an END line from backtracking. A block cut short
# (pasted in part) is redacted as far as its base64 lines go.
_PEM_LABEL = r"[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?"
_PEM = re.compile(
    rf"-----BEGIN {_PEM_LABEL}-----"
    rf"(?:(?:[A-Za-z0-9+/=\s:,.\\]++|-(?!----))*+-----END {_PEM_LABEL}-----"
    r"|(?:(?:\s|\\n)++[A-Za-z0-9+/=]{16,})*+)"
)

# Every pattern starts with a literal, which the regex engine finds fast, and checks what
# comes before it afterwards, with a look-behind.
#
# In the order they run: rules that keep a label (``SLACK_TOKEN=``) run after the rules that
# recognise the value itself, so the more telling marker wins, and the URL rule runs last, so
# that a webhook URL becomes one marker rather than a URL with holes.
_RULES: tuple[_Rule, ...] = (
    _Rule("private-key", _PEM),
    _Rule(
        "slack-webhook",
        re.compile(r"https?://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+"),
    ),
    _Rule(
        "slack-token",
        re.compile(r"x(?<![A-Za-z0-9_-]x)(?:oxe\.xox[a-z]|ox[abeoprs]|app)-[A-Za-z0-9-]{10,}"),
    ),
    _Rule(
        "github-token",
        re.compile(
            r"g(?<![A-Za-z0-9_]g)(?:h[pousr]_[A-Za-z0-9]{30,255}|ithub_pat_[A-Za-z0-9_]{22,255})"
            r"(?![A-Za-z0-9_])"
        ),
    ),
    _Rule("anthropic-key", re.compile(r"sk-(?<![A-Za-z0-9_-]sk-)ant-[A-Za-z0-9_-]{20,}")),
    # OpenAI keys (sk-…, sk-proj-…, sk-svcacct-…) and the many APIs that copied the format.
    # A random key of 20+ characters has a digit; "sk-learn-user-guide" has not.
    _Rule(
        "api-key",
        re.compile(r"sk-(?<![A-Za-z0-9_-]sk-)(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}"),
    ),
    _Rule(
        "aws-access-key-id",
        re.compile(r"A(?<![A-Za-z0-9]A)(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
    ),
    _Rule("aws-secret-key", _AWS_SECRET, _replace_aws_secret, folded=True),
    _Rule(
        "jwt",
        re.compile(
            r"eyJ(?<![A-Za-z0-9_-]eyJ)[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"
            r"(?:\.[A-Za-z0-9_-]+){0,2}"
        ),
    ),
    _Rule("bearer-token", _BEARER, _replace_token("bearer-token"), folded=True),
    _Rule("basic-auth", _BASIC_AUTH, _replace_token("basic-auth"), folded=True),
    *(_Rule("secret", pattern, _replace_key_value, folded=True) for pattern in _KEY_VALUES),
    _Rule("password", _URL_PASSWORD, _replace_url_password),
)


def redact(text: str) -> str:
    """``text`` with every recognised secret replaced by ``[redacted:<kind>]``."""
    folded: str | None = None  # computed once for each version of the text that needs it
    for rule in _RULES:
        if rule.folded and folded is None:
            folded = _fold(text)
        redacted = rule.apply(text, folded or "")
        if redacted != text:
            text, folded = redacted, None
    return text


def contains_secret(text: str) -> bool:
    """Whether :func:`redact` would change ``text``."""
    return redact(text) != text
