"""HTML files, read with the standard library's parser: one section per h1–h6 heading."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from ledger_bot.documents import Document, Section
from ledger_bot.errors import DocumentError
from ledger_bot.ingest.decoding import decode_text
from ledger_bot.ingest.parsed import ParsedFile
from ledger_bot.ingest.sources import title_from_path, url_for

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_SKIPPED = frozenset({"script", "style", "nav", "header", "footer", "noscript", "template"})
_PARAGRAPH_BREAKS = frozenset(
    [
        "p",
        "pre",
        "blockquote",
        "table",
        "ul",
        "ol",
        "dl",
        "hr",
        "address",
        "section",
        "article",
        "main",
        "aside",
        "figure",
        "form",
        "fieldset",
        "details",
    ]
)
_LINE_BREAKS = frozenset({"br", "div", "li", "tr", "dt", "dd", "summary", "caption", "body"})
_CELLS = frozenset({"td", "th"})
_WHITESPACE = re.compile(r"[ \t\n\r\f]+")  # HTML whitespace: not U+00A0 (&nbsp;)
_BLANK_RUN = re.compile(r"\n{3,}")
_URL_META_NAME = "ledger-bot:url"


def parse_html(data: bytes, relpath: str, *, base_url: str | None = None) -> ParsedFile:
    reader = _HtmlReader()
    try:
        reader.feed(decode_text(data))
        reader.close()
    except DocumentError:
        raise
    except Exception as exc:  # the stdlib parser is lenient, but can still trip on odd markup
        raise DocumentError(f"invalid HTML: {exc}") from exc
    reader.close_section()
    title = reader.title or reader.first_top_heading or title_from_path(relpath)
    document = Document(
        source=relpath,
        title=title,
        sections=tuple(reader.sections),
        url=reader.meta_url or reader.canonical_url or url_for(relpath, base_url),
    )
    return ParsedFile((document,))


class _HtmlReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[Section] = []
        self.title: str | None = None
        self.first_top_heading: str | None = None
        self.meta_url: str | None = None
        self.canonical_url: str | None = None
        self._headings: list[tuple[int, str]] = []
        self._text: list[str] = []
        self._skipping: list[str] = []  # open elements whose content is ignored
        self._title_parts: list[str] | None = None
        self._heading_level = 0
        self._heading_parts: list[str] = []
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping.append(tag)
        if self._skipping:
            return
        if tag == "title" and self.title is None:
            self._title_parts = []
        elif tag == "meta":
            self._read_meta(dict(attrs))
        elif tag == "link":
            self._read_link(dict(attrs))
        elif tag in _HEADINGS:
            self._heading_level = _HEADINGS[tag]
            self._heading_parts = []
        elif tag == "pre":
            self._pre_depth += 1
        self._break_for(tag)
        if tag == "li":
            self._text.append("- ")
        elif tag in _CELLS and self._text and not self._text[-1].endswith("\n"):
            self._text.append(" | ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIPPED:  # a self-closed <nav/> has no content to skip
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._skipping:
            while self._skipping.pop() != tag:
                pass
            return
        if self._skipping:
            return
        if tag == "title" and self._title_parts is not None:
            self.title = _normalise("".join(self._title_parts)) or None
            self._title_parts = None
        elif tag in _HEADINGS and self._heading_level:
            self._end_heading()
        elif tag == "pre" and self._pre_depth:
            self._pre_depth -= 1
        self._break_for(tag)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if self._title_parts is not None:
            self._title_parts.append(data)
        elif self._heading_level:
            self._heading_parts.append(data)
        elif self._pre_depth:
            self._text.append(data)
        else:
            self._add_flowing_text(data)

    def close_section(self) -> None:
        text = _BLANK_RUN.sub("\n\n", "".join(self._text)).strip()
        if text:
            path = tuple(heading for _, heading in self._headings if heading)
            self.sections.append(Section(path, text))
        self._text = []

    def _end_heading(self) -> None:
        level, text = self._heading_level, _normalise("".join(self._heading_parts))
        self._heading_level = 0
        self.close_section()
        while self._headings and self._headings[-1][0] >= level:
            self._headings.pop()
        self._headings.append((level, text))
        if level == 1 and self.first_top_heading is None and text:
            self.first_top_heading = text

    def _add_flowing_text(self, data: str) -> None:
        text = _WHITESPACE.sub(" ", data)
        previous = self._text[-1] if self._text else "\n"
        if previous.endswith((" ", "\n")):
            text = text.lstrip(" ")
        if text:
            self._text.append(text)

    def _break_for(self, tag: str) -> None:
        if tag in _PARAGRAPH_BREAKS:
            self._line_break()
            self._text.append("\n")
        elif tag in _LINE_BREAKS:
            self._line_break()

    def _line_break(self) -> None:
        if not self._pre_depth:
            while self._text and not self._text[-1].rstrip(" "):
                self._text.pop()
            if self._text:
                self._text[-1] = self._text[-1].rstrip(" ")
        if self._text and not self._text[-1].endswith("\n"):
            self._text.append("\n")

    def _read_meta(self, attrs: dict[str, str | None]) -> None:
        name, content = (attrs.get("name") or "").lower(), (attrs.get("content") or "").strip()
        if name == _URL_META_NAME and content and self.meta_url is None:
            self.meta_url = content

    def _read_link(self, attrs: dict[str, str | None]) -> None:
        rels, href = (attrs.get("rel") or "").lower().split(), (attrs.get("href") or "").strip()
        if "canonical" in rels and href and self.canonical_url is None:
            self.canonical_url = href


def _normalise(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()
