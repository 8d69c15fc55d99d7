"""reStructuredText files, read with docutils: section titles form the heading paths."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from ledger_bot.documents import Document, Section
from ledger_bot.errors import DocumentError, MissingExtra
from ledger_bot.ingest.decoding import decode_text
from ledger_bot.ingest.parsed import ParsedFile
from ledger_bot.ingest.sources import title_from_path, url_for

if TYPE_CHECKING:
    from docutils import nodes

_WHITESPACE = re.compile(r"\s+")


def parse_rst(data: bytes, relpath: str, *, base_url: str | None = None) -> ParsedFile:
    try:
        from docutils.core import publish_doctree
    except ImportError as exc:
        raise MissingExtra("Indexing reStructuredText", "rst", "docutils") from exc

    text = decode_text(data)
    settings = {
        "report_level": 5,  # never print warnings or errors …
        "halt_level": 5,  # … and never stop on them
        "exit_status_level": 5,
        "warning_stream": io.StringIO(),
        "file_insertion_enabled": False,  # no `include` or `csv-table :file:` of other files
        "raw_enabled": False,
        "syntax_highlight": "none",
        "_disable_config": True,  # ignore docutils.conf files on this machine
    }
    try:
        doctree = publish_doctree(text, source_path=relpath, settings_overrides=settings)
    except Exception as exc:  # docutils reports problems in the tree; anything raised is a bug
        raise DocumentError(f"invalid reStructuredText: {exc}") from exc
    title = _document_title(doctree)
    sections: list[Section] = []
    _walk(doctree, (title,) if title else (), sections)
    document = Document(
        source=relpath,
        title=title or title_from_path(relpath),
        sections=tuple(sections),
        url=url_for(relpath, base_url),
    )
    return ParsedFile((document,))


def _document_title(doctree: nodes.document) -> str:
    from docutils import nodes

    for child in doctree.children:
        if isinstance(child, nodes.title):
            return _flow(child.astext())
    return ""


def _walk(element: nodes.Element, path: tuple[str, ...], sections: list[Section]) -> None:
    from docutils import nodes

    blocks: list[str] = []
    for child in element.children:
        if isinstance(child, nodes.section):
            _add_section(path, blocks, sections)
            blocks = []
            heading = _flow(child[0].astext()) if isinstance(child[0], nodes.title) else ""
            _walk(child, (*path, heading) if heading else path, sections)
        elif not isinstance(child, nodes.title | nodes.subtitle):
            blocks.extend(_blocks(child))
    _add_section(path, blocks, sections)


def _add_section(path: tuple[str, ...], blocks: list[str], sections: list[Section]) -> None:
    text = "\n\n".join(block for block in blocks if block.strip())
    if text:
        sections.append(Section(path, text))


def _blocks(node: nodes.Node) -> list[str]:
    """The text of one body element, as blocks to be separated by blank lines."""
    from docutils import nodes

    ignored = (
        nodes.system_message,
        nodes.comment,
        nodes.substitution_definition,
        nodes.target,
        nodes.raw,
        nodes.pending,
        nodes.decoration,
        nodes.transition,
    )
    if isinstance(node, ignored):
        return []
    if isinstance(node, nodes.literal_block | nodes.doctest_block):
        return [node.astext()]
    if isinstance(node, nodes.bullet_list | nodes.enumerated_list):
        return [_list_text(node)]
    if isinstance(node, nodes.definition_list):
        return ["\n".join(_definition_text(item) for item in node.children)]
    if isinstance(node, nodes.field_list | nodes.docinfo):
        return ["\n".join(_field_text(field) for field in node.children)]
    if isinstance(node, nodes.table):
        rows = node.findall(nodes.row)
        return [
            "\n".join(" | ".join(_flow(cell.astext()) for cell in row.children) for row in rows)
        ]
    if isinstance(node, nodes.Admonition) and not isinstance(node, nodes.admonition):
        blocks = [block for child in node.children for block in _blocks(child)]
        label = type(node).__name__.capitalize()  # nodes.note -> "Note: …"
        return [f"{label}: {blocks[0]}", *blocks[1:]] if blocks else []
    if isinstance(node, nodes.TextElement | nodes.Text):
        return [node.astext().strip()]
    if isinstance(node, nodes.Element):
        return [block for child in node.children for block in _blocks(child)]
    return []


def _list_text(node: nodes.Element) -> str:
    from docutils import nodes

    start = int(node.get("start", 1))
    lines: list[str] = []
    for number, item in enumerate(node.children, start):
        marker = f"{number}. " if isinstance(node, nodes.enumerated_list) else "- "
        text = "\n".join(block for child in item.children for block in _blocks(child))
        lines.append(_indent(text, marker))
    return "\n".join(lines)


def _definition_text(item: nodes.Node) -> str:
    from docutils import nodes

    if not isinstance(item, nodes.Element):
        return item.astext()
    term = " ".join(_flow(c.astext()) for c in item.children if isinstance(c, nodes.term))
    definitions = [
        block
        for child in item.children
        if isinstance(child, nodes.definition)
        for block in _blocks(child)
    ]
    return "\n".join([term, *(_indent(block, "  ") for block in definitions)])


def _field_text(field: nodes.Node) -> str:
    from docutils import nodes

    if isinstance(field, nodes.field) and len(field.children) == 2:
        name, body = field.children
        return f"{_flow(name.astext())}: {_flow(body.astext())}"
    if isinstance(field, nodes.Element):
        return f"{field.tagname.capitalize()}: {_flow(field.astext())}"
    return field.astext()


def _indent(text: str, first_prefix: str) -> str:
    """Prefix the first line and indent the others to line up with it."""
    first, *rest = text.split("\n")
    padding = " " * len(first_prefix)
    return "\n".join([first_prefix + first, *(padding + line if line else "" for line in rest)])


def _flow(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()
