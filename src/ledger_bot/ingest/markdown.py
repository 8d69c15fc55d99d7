"""Markdown files: front matter, then one section per heading, with the heading path."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from ledger_bot.documents import Document, Section
from ledger_bot.ingest.decoding import decode_text
from ledger_bot.ingest.front_matter import split_front_matter
from ledger_bot.ingest.parsed import ParsedFile
from ledger_bot.ingest.sources import title_from_path, url_for

# Fences are recognised at any indentation, so fences inside list items count too.
_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_ATX_HEADING = re.compile(r"^ {0,3}(?P<marks>#{1,6})(?:[ \t]+(?P<text>.*?))?[ \t]*$")
_ATX_CLOSING = re.compile(r"(?:^|[ \t]+)#+$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?P<underline>=+|-+)[ \t]*$")
_NOT_PARAGRAPH = re.compile(r"^(?: {4}|\t| {0,3}(?:[-*+][ \t]|\d{1,9}[.)][ \t]|>|<!--|\|))")
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]*\S+.*$", re.MULTILINE)
_INLINE = re.compile(
    r"(?P<code>`+[^`\n]*`+)"  # code spans are kept as they are
    r"|!\[[^\]\n]*\](?:\([^)\n]*\)|\[[^\]\n]*\])"  # images are dropped
    r"|\[(?P<label>[^\]\n]*)\]"  # links keep their label
    r"(?:\(\s*(?:[^()\s]|\([^()\s]*\))*(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?\s*\)|\[[^\]\n]*\])"
)
_BLANK_RUN = re.compile(r"\n(?:[ \t]*\n){2,}")


@dataclass(slots=True)
class _Outline:
    """The sections found so far and the heading path and body lines of the current one."""

    sections: list[Section] = field(default_factory=list)
    headings: list[tuple[int, str]] = field(default_factory=list)
    body: list[tuple[bool, str]] = field(default_factory=list)  # (is code, line)
    first_top_heading: str | None = None

    def start_heading(self, level: int, raw_text: str) -> None:
        self.close_section()
        text = _clean_inline(raw_text).strip()
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        self.headings.append((level, text))
        if level == 1 and self.first_top_heading is None and text:
            self.first_top_heading = text

    def close_section(self) -> None:
        text = _render_body(self.body)
        if text:
            path = tuple(heading for _, heading in self.headings if heading)
            self.sections.append(Section(path, text))
        self.body = []


def parse_markdown(data: bytes, relpath: str, *, base_url: str | None = None) -> ParsedFile:
    front = split_front_matter(decode_text(data))
    outline = _outline(front.body)
    title = front.string("title") or outline.first_top_heading or title_from_path(relpath)
    document = Document(
        source=relpath,
        title=title,
        sections=tuple(outline.sections),
        url=front.string("url") or url_for(relpath, base_url),
    )
    warnings = (front.warning,) if front.warning else ()
    return ParsedFile((document,), warnings)


def _outline(text: str) -> _Outline:
    outline = _Outline()
    fence: str | None = None  # the opening fence while inside a fenced code block
    in_comment = False
    previous_is_paragraph = False
    for line in text.split("\n"):
        if fence is not None:
            outline.body.append((True, line))
            closing = _FENCE.match(line)
            if closing and closing["fence"][0] == fence[0] and len(closing["fence"]) >= len(fence):
                fence = None if not closing["info"].strip() else fence
            continue
        if in_comment:
            outline.body.append((False, line))
            in_comment = "-->" not in line
            continue
        is_paragraph = False
        if opening := _FENCE.match(line):
            if opening["fence"][0] == "`" and "`" in opening["info"]:
                outline.body.append((False, line))  # an inline code span, not a fence
            else:
                fence = opening["fence"]
                outline.body.append((True, line))
        elif heading := _ATX_HEADING.match(line):
            outline.start_heading(
                len(heading["marks"]), _ATX_CLOSING.sub("", heading["text"] or "")
            )
        elif previous_is_paragraph and (underline := _SETEXT_UNDERLINE.match(line)):
            _, heading_text = outline.body.pop()
            outline.start_heading(1 if underline["underline"][0] == "=" else 2, heading_text)
        else:
            outline.body.append((False, line))
            stripped = line.lstrip()
            in_comment = stripped.startswith("<!--") and "-->" not in stripped[4:]
            is_paragraph = bool(stripped) and not _NOT_PARAGRAPH.match(line)
        previous_is_paragraph = is_paragraph
    outline.close_section()
    return outline


def _render_body(body: list[tuple[bool, str]]) -> str:
    parts: list[str] = []
    for is_code, run in itertools.groupby(body, key=lambda entry: entry[0]):
        lines = "\n".join(line for _, line in run)
        parts.append(lines if is_code else _clean_prose(lines))
    return "\n".join(parts).strip("\n")


def _clean_prose(text: str) -> str:
    text = _COMMENT.sub("", text)
    text = _LINK_DEFINITION.sub("", text)
    text = "\n".join(_clean_inline(line).rstrip() for line in text.split("\n"))
    return _BLANK_RUN.sub("\n\n", text)


def _clean_inline(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match["code"] is not None:
            return match["code"]
        return match["label"] or ""

    return _INLINE.sub(replace, text)
