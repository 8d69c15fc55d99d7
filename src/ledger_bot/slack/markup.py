"""Slack's mrkdwn: escaping text for it, converting Markdown answers to it, and turning the
markup of Slack messages back into the plain question a person typed.

Slack asks for exactly three characters to be escaped, ``&``, ``<`` and ``>``, everywhere,
code included; anything else is left as it is. Markdown is converted line by line: code
fences and quotes are recognised first, then headings, rules and list markers, then the
inline markup of what is left. Answers quote the same passages again and again, so the
conversion of each line (up to 1,000 characters) is kept, for the last 4,096 lines.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Characters that would end a Slack link early or break it, percent-encoded inside URLs.
_URL_ESCAPES = str.maketrans({"|": "%7C", "<": "%3C", ">": "%3E", " ": "%20"})
# Slack splits a link at its first "|"; one in a label is shown as a broken bar instead.
_LABEL_BAR = "¦"
# Three backticks anywhere open a code block in Slack; stray ones are split by zero-width spaces.
_BACKTICK_RUN = re.compile("`{3,}")

# Private-use characters mark spans the inline converter has already rendered ("held"), bold
# text until the end of the conversion, and the places where normalisation removed a token.
_HOLD_START = "\ue000"
_HOLD_END = "\ue001"
_BOLD = "\ue002"
_REMOVED = "\ue003"
_PRIVATE = re.compile("[\ue000-\ue003]")
_HELD = re.compile("\ue000(\\d+)\ue001")

# Block structure (matched at the start of a line).
_QUOTE = re.compile(r"[ \t]{0,3}>[ \t]?")
# Fences may be indented (in list items, say); a bullet may open one ("- ```sh").
_FENCE_OPEN = re.compile(r"[ \t]*(`{3,}(?=[^`]*$)|~{3,})")
_FENCE_CLOSE = re.compile(r"[ \t]*(`{3,}|~{3,})[ \t]*")
_HEADING = re.compile(r"[ \t]{0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
_RULE = re.compile(r"[ \t]{0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")
_BULLET = re.compile(r"([ \t]*)[-*+][ \t]+")

# Inline markup.
_CODE_SPAN = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_AUTOLINK = re.compile(r"<((?:https?://|mailto:)[^\s<>]+)>", re.IGNORECASE)
_LINK = re.compile(
    r"!?\[([^\[\]\n]*)\]\(\s*<?((?:[^\s()<>]|\([^\s()<>]*\))+)>?"
    r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?\s*\)"
)
_LINKABLE = re.compile(r"(?:https?://|mailto:)", re.IGNORECASE)
_BARE_URL = re.compile(r"https?://[^\s<>\ue000-\ue003]+", re.IGNORECASE)
_BACKSLASH = re.compile(r"\\([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")
# Emphasis delimiters: (token, opening and closing replacement, may touch a letter outside).
_EMPHASIS = (
    (re.compile(r"\*\*\*"), f"{_BOLD}_", f"_{_BOLD}", True),
    (re.compile(r"\*\*"), _BOLD, _BOLD, True),
    (re.compile(r"__"), _BOLD, _BOLD, False),
    (re.compile(r"(?<!\*)\*(?!\*)"), "_", "_", False),
    (re.compile(r"(?<!~)~~(?!~)"), "~", "~", True),
)
_LABEL_MARKUP = re.compile(r"\*\*|__|~~|`")

# Slack message markup: <@U123>, <#C123|general>, <!here>, <https://x|label>, …
_SLACK_TOKEN = re.compile(r"<([^<>]*)>")
_BROADCASTS = frozenset({"here", "channel", "everyone"})

LINE_CACHE_SIZE = 4096  # converted lines kept
MAX_CACHED_LINE_CHARS = 1000  # a longer line is converted each time


def escape_mrkdwn(text: str) -> str:
    """``text`` with ``&``, ``<`` and ``>`` escaped as Slack requires; nothing else changes."""
    return text.translate(_ESCAPES)


def plain_to_mrkdwn(text: str) -> str:
    """Plain ``text`` made safe for a mrkdwn field: escaped, and with runs of three or more
    backticks broken up so that they cannot open a code block that never closes."""
    return _break_backticks(escape_mrkdwn(text))


def _break_backticks(text: str) -> str:
    return _BACKTICK_RUN.sub(lambda m: "\u200b".join(m[0]), text)


def mrkdwn_link(url: str, label: str = "") -> str:
    """A Slack link ``<url|label>`` to ``url``; ``label`` is plain text (Markdown emphasis and
    backticks are dropped from it, whitespace is collapsed) and may be empty."""
    target = escape_mrkdwn(url.strip().translate(_URL_ESCAPES))
    text = " ".join(_LABEL_MARKUP.sub("", label).split())
    if not text:
        return f"<{target}>"
    return f"<{target}|{escape_mrkdwn(text).replace('|', _LABEL_BAR)}>"


@dataclass(frozen=True, slots=True)
class _Fence:
    marker: str
    length: int
    quoted: bool


def markdown_to_mrkdwn(text: str) -> str:
    """Convert Markdown (as answerers write it) to Slack mrkdwn.

    Bold, italic, strikethrough, links, headings, bullets, quotes and code fences are
    translated; everything else is escaped and kept. Code is escaped but not otherwise
    touched. Numbered references such as ``[1]`` stay as they are.
    """
    out: list[str] = []
    fence: _Fence | None = None
    for raw in _PRIVATE.sub("", text).replace("\r\n", "\n").split("\n"):
        if fence is not None:
            line, quoted = _unquote(raw) if fence.quoted else (raw, False)
            prefix = "> " if fence.quoted else ""
            if fence.quoted and not quoted:
                out.append("> ```")  # the quote ended, and its code block with it
                fence = None
            elif _closes(line, fence):
                out.append(prefix + "```")
                fence = None
                continue
            else:
                out.append(prefix + plain_to_mrkdwn(line))
                continue
        line, quoted = _unquote(raw)
        prefix = "> " if quoted else ""
        bullet = _BULLET.match(line)
        opening = _FENCE_OPEN.match(line[bullet.end() :] if bullet else line)
        if opening:
            fence = _Fence(opening[1][0], len(opening[1]), quoted)
            out.append(prefix + (f"{bullet[1]}• " if bullet else "") + "```")
        else:
            out.append(prefix + _convert_line(line))
    if fence is not None:
        out.append(("> " if fence.quoted else "") + "```")
    return "\n".join(out)


def _unquote(line: str) -> tuple[str, bool]:
    """``line`` without its quote markers (all levels: Slack has one), and whether it had any."""
    quoted = False
    while match := _QUOTE.match(line):
        line = line[match.end() :]
        quoted = True
    return line, quoted


def _closes(line: str, fence: _Fence) -> bool:
    match = _FENCE_CLOSE.fullmatch(line)
    return bool(match and match[1][0] == fence.marker and len(match[1]) >= fence.length)


def _convert_line(line: str) -> str:
    """One line outside code blocks and without its quote markers, in mrkdwn."""
    if len(line) > MAX_CACHED_LINE_CHARS:
        return _render_line(line)
    return _cached_line(line)


def _render_line(line: str) -> str:
    heading = _HEADING.fullmatch(line)
    if heading:
        content = _inline((heading[1] or "").strip(), bold="")
        return f"*{content}*" if content else ""
    if _RULE.fullmatch(line):
        return ""
    bullet = _BULLET.match(line)
    if bullet:
        return f"{bullet[1]}• {_inline(line[bullet.end() :])}"
    return _inline(line)


_cached_line = functools.lru_cache(maxsize=LINE_CACHE_SIZE)(_render_line)


def _inline(text: str, *, bold: str = "*") -> str:
    """The inline markup of one line converted; ``bold`` replaces Markdown's strong emphasis."""
    held: list[tuple[str, str]] = []  # (mrkdwn, plain text) of each held span

    def hold(rendered: str, plain: str) -> str:
        held.append((rendered, plain))
        return f"{_HOLD_START}{len(held) - 1}{_HOLD_END}"

    def plain(value: str) -> str:
        return _HELD.sub(lambda m: held[int(m[1])][1], value)

    def link(match: re.Match[str]) -> str:
        label, url = match[1], match[2]
        if not _LINKABLE.match(url):
            return label  # a relative link means nothing in Slack: keep its text
        return hold(mrkdwn_link(url, plain(label)), plain(label))

    # Slack's inline code is one backtick each side, whatever Markdown used.
    text = _CODE_SPAN.sub(lambda m: hold(f"`{escape_mrkdwn(m[2])}`", m[2]), text)
    text = _AUTOLINK.sub(lambda m: hold(mrkdwn_link(m[1]), m[1]), text)
    text = _LINK.sub(link, text)
    text = _BARE_URL.sub(lambda m: hold(escape_mrkdwn(m[0]), m[0]), text)
    text = _BACKSLASH.sub(lambda m: hold(escape_mrkdwn(m[1]), m[1]), text)
    text = escape_mrkdwn(text)
    for token, opening, closing, intraword in _EMPHASIS:
        text = _emphasize(text, token, opening, closing, intraword=intraword)
    text = text.replace(_BOLD, bold)
    return _break_backticks(_HELD.sub(lambda m: held[int(m[1])][0], text))


def _emphasize(
    text: str, token: re.Pattern[str], opening: str, closing: str, *, intraword: bool
) -> str:
    """Pair the ``token``s of ``text`` left to right, as Markdown does, and replace each pair
    with ``opening`` and ``closing``. An opener is followed by a non-space, a closer preceded
    by one; unless ``intraword``, neither may touch a letter on its outer side. (One linear
    pass: a regex with a lazy middle takes quadratic time on lines full of lone delimiters.)
    """
    pieces: list[str] = []
    done = 0
    opener: re.Match[str] | None = None
    for match in token.finditer(text):
        start, end = match.span()
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if (
            opener is not None
            and start > opener.end()
            and not before.isspace()
            and (intraword or not _is_word(after))
        ):
            pieces += [text[done : opener.start()], opening, text[opener.end() : start], closing]
            done, opener = end, None
        elif not after.isspace() and (intraword or not _is_word(before)):
            opener = match
    pieces.append(text[done:])
    return "".join(pieces)


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def normalize_question(text: str, bot_user_id: str | None = None) -> str:
    """The plain text of a Slack message, as retrieval should see it.

    Mentions become ``@name`` (the bot's own mention is dropped), channels ``#name``, links
    their label or URL, broadcasts (``<!here>``) disappear, dates their fallback text; then
    Slack's ``&amp; &lt; &gt;`` are unescaped.
    """
    text = _SLACK_TOKEN.sub(lambda m: _token_text(m[1], bot_user_id), _PRIVATE.sub("", text))
    text = re.sub(f"{_REMOVED}(?:[ \\t]*{_REMOVED})+", _REMOVED, text)
    text = re.sub(f"(?<=\\S)[ \\t]*{_REMOVED}[ \\t]*(?=\\S)", " ", text)
    text = re.sub(f"[ \\t]*{_REMOVED}[ \\t]*", "", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.strip()


def _token_text(body: str, bot_user_id: str | None) -> str:
    target, _, label = body.partition("|")
    if target.startswith("@"):
        if bot_user_id is not None and target[1:] == bot_user_id:
            return _REMOVED
        return "@" + (label.removeprefix("@") or target[1:])
    if target.startswith("#"):
        return "#" + (label.removeprefix("#") or target[1:])
    if target.startswith("!"):
        command = target[1:]
        if command in _BROADCASTS:
            return _REMOVED
        if command.startswith("subteam^"):
            return "@" + (label.removeprefix("@") or command.removeprefix("subteam^"))
        return label or _REMOVED
    if label:
        return label
    return target.removeprefix("mailto:")
