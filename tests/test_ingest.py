"""Parsing every supported format into documents, and finding the files to parse."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest
from pypdf import PdfWriter

from ledger_bot.documents import Document, Section
from ledger_bot.errors import DocumentError, MissingExtra
from ledger_bot.ingest import SUPPORTED_SUFFIXES, FoundFile, SkippedPath, discover, parse_file

RUNNING_AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def parse_one(text: str, relpath: str, *, base_url: str | None = None) -> Document:
    parsed = parse_file(text.encode(), relpath, base_url=base_url)
    assert parsed.warnings == ()
    (document,) = parsed.documents
    return document


def make_pdf(pages: list[str], *, title: str | None = None) -> bytes:
    """A minimal valid PDF with one line of Helvetica text per page ("" for a blank page)."""
    page_ids = [4 + 2 * index for index in range(len(pages))]
    kids = " ".join(f"{page_id} 0 R" for page_id in page_ids)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for page_id, text in zip(page_ids, pages, strict=True):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_id + 1} 0 R >>".encode()
        )
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode() if text else b""
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    if title is not None:
        objects.append(f"<< /Title ({title}) >>".encode())
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_offset = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    info = b" /Info %d 0 R" % len(objects) if title is not None else b""
    pdf += b"trailer\n<< /Size %d /Root 1 0 R%s >>\n" % (len(objects) + 1, info)
    pdf += b"startxref\n%d\n%%%%EOF\n" % xref_offset
    return bytes(pdf)


# --- choosing a parser and decoding text ---------------------------------------------------


def test_supported_suffixes_are_the_documented_ones() -> None:
    assert {
        ".md",
        ".markdown",
        ".txt",
        ".text",
        ".rst",
        ".html",
        ".htm",
        ".pdf",
        ".jsonl",
    } == SUPPORTED_SUFFIXES


def test_unsupported_suffix_is_a_document_error() -> None:
    with pytest.raises(DocumentError, match=r"^unsupported file type \.docx$"):
        parse_file(b"PK", "notes/plan.docx")


def test_suffix_is_matched_case_insensitively() -> None:
    assert parse_one("# Runbook\n\nRestart it.\n", "RUNBOOK.MD").title == "Runbook"


def test_file_with_nul_bytes_looks_binary() -> None:
    with pytest.raises(DocumentError, match=r"^looks like a binary file$"):
        parse_file(b"GIF89a\x00\x01\x02", "logo.txt")


def test_invalid_utf8_names_the_byte_and_its_offset() -> None:
    with pytest.raises(DocumentError, match=r"^not valid UTF-8 text \(byte 0xe9 at offset 3\)$"):
        parse_file(b"caf\xe9\n", "menu.txt")


def test_utf16_text_is_rejected_with_advice() -> None:
    with pytest.raises(DocumentError, match=r"^UTF-16 text is not supported"):
        parse_file("hello".encode("utf-16"), "hello.txt")


def test_utf8_byte_order_mark_is_stripped() -> None:
    parsed = parse_file(b"\xef\xbb\xbf# Title\n\nBody\n", "a.md")
    assert parsed.documents[0].title == "Title"


def test_windows_line_endings_do_not_hide_headings() -> None:
    document = parse_one("# Top\r\n\r\n## Sub\r\nText\r\n", "a.md")
    assert document.sections == (Section(("Top", "Sub"), "Text"),)


def test_base_url_and_relpath_make_the_url() -> None:
    document = parse_one("Body\n", "guides/setup.txt", base_url="https://wiki.example.com/kb/")
    assert document.url == "https://wiki.example.com/kb/guides/setup.txt"


def test_without_base_url_there_is_no_url() -> None:
    assert parse_one("Body\n", "guides/setup.txt").url is None


# --- Markdown -------------------------------------------------------------------------------


def test_markdown_section_heading_path_includes_parent_headings() -> None:
    text = "# Payments\n\n## Reversals\n\n### Partial reversals\n\nRefund the rest.\n"
    document = parse_one(text, "payments.md")
    assert document.sections == (
        Section(("Payments", "Reversals", "Partial reversals"), "Refund the rest."),
    )


def test_markdown_sibling_heading_replaces_previous_sibling_in_path() -> None:
    text = "# Payments\n\n## Refunds\n\nFive days.\n\n## Chargebacks\n\nFifteen euros.\n"
    document = parse_one(text, "payments.md")
    assert [section.heading_path for section in document.sections] == [
        ("Payments", "Refunds"),
        ("Payments", "Chargebacks"),
    ]


def test_markdown_text_before_first_heading_has_empty_heading_path() -> None:
    document = parse_one("Read this first.\n\n# Setup\n\nInstall.\n", "readme.md")
    assert document.sections[0] == Section((), "Read this first.")


def test_heading_inside_code_fence_is_not_a_section() -> None:
    text = "# Deploy\n\n```bash\n# build the image\nmake image\n```\n"
    document = parse_one(text, "deploy.md")
    assert document.sections == (
        Section(("Deploy",), "```bash\n# build the image\nmake image\n```"),
    )


def test_heading_inside_tilde_fence_is_not_a_section() -> None:
    text = "# Deploy\n\n~~~\n## not a heading\n~~~\n"
    document = parse_one(text, "deploy.md")
    assert [section.heading_path for section in document.sections] == [("Deploy",)]


def test_shorter_fence_does_not_close_a_longer_one() -> None:
    text = "````\n```\n# still code\n```\n````\n\n# Real\n\nText\n"
    document = parse_one(text, "fences.md")
    assert [section.heading_path for section in document.sections] == [(), ("Real",)]


def test_setext_headings_split_sections() -> None:
    text = "Payments\n========\n\nIntro.\n\nRefunds\n-------\n\nFive days.\n"
    document = parse_one(text, "payments.md")
    assert document.sections == (
        Section(("Payments",), "Intro."),
        Section(("Payments", "Refunds"), "Five days."),
    )


def test_dashes_after_a_blank_line_are_a_rule_not_a_heading() -> None:
    document = parse_one("# Top\n\nAbove.\n\n---\n\nBelow.\n", "rule.md")
    assert document.sections == (Section(("Top",), "Above.\n\n---\n\nBelow."),)


def test_dashes_under_a_list_item_are_not_a_heading() -> None:
    document = parse_one("- item\n---\n", "list.md")
    assert document.sections == (Section((), "- item\n---"),)


def test_atx_closing_hashes_are_not_part_of_the_heading() -> None:
    document = parse_one("## Refunds ##\n\nText\n", "a.md")
    assert document.sections[0].heading_path == ("Refunds",)


def test_hash_without_space_is_not_a_heading() -> None:
    document = parse_one("#hashtag and #5\n", "a.md")
    assert document.sections == (Section((), "#hashtag and #5"),)


def test_empty_section_is_dropped_but_its_heading_stays_in_child_paths() -> None:
    document = parse_one("# Guide\n\n## Steps\n\n### First\n\nDo it.\n", "guide.md")
    assert document.sections == (Section(("Guide", "Steps", "First"), "Do it."),)


def test_front_matter_title_and_url_win() -> None:
    text = "---\ntitle: Refund policy\nurl: https://wiki/refunds\n---\n# Refunds\n\nText\n"
    document = parse_one(text, "refunds.md", base_url="https://base")
    assert (document.title, document.url) == ("Refund policy", "https://wiki/refunds")


def test_front_matter_is_not_part_of_the_text() -> None:
    document = parse_one("---\nowner: payments\n---\nBody text.\n", "refunds.md")
    assert document.sections == (Section((), "Body text."),)


def test_malformed_front_matter_is_a_warning() -> None:
    parsed = parse_file(b"---\ntitle: [unclosed\n---\nBody text.\n", "refunds.md")
    assert parsed.warnings == (
        "front matter ignored: not valid YAML (expected ',' or ']', but got '<stream end>' "
        "on line 2)",
    )


def test_malformed_front_matter_is_treated_as_absent() -> None:
    parsed = parse_file(b"---\ntitle: [unclosed\n---\nBody text.\n", "on-call.md")
    assert parsed.documents[0] == Document("on-call.md", "On call", (Section((), "Body text."),))


def test_front_matter_that_is_not_a_mapping_is_a_warning() -> None:
    parsed = parse_file(b"---\n- a\n- b\n---\nBody\n", "a.md")
    assert parsed.warnings == ("front matter ignored: not a YAML mapping",)


def test_title_falls_back_to_first_top_level_heading() -> None:
    document = parse_one("Intro.\n\n## Minor\n\nx\n\n# Major\n\ny\n", "a.md")
    assert document.title == "Major"


def test_title_falls_back_to_the_file_name() -> None:
    assert parse_one("## Only minor\n\nx\n", "ops/on-call-runbook.md").title == "On call runbook"


def test_links_keep_their_label() -> None:
    document = parse_one('See [the runbook](https://wiki/run "Runbook") now.\n', "a.md")
    assert document.sections[0].text == "See the runbook now."


def test_reference_links_keep_their_label_and_definitions_are_dropped() -> None:
    document = parse_one("See [the runbook][rb].\n\n[rb]: https://wiki/run\n", "a.md")
    assert document.sections[0].text == "See the runbook."


def test_images_are_dropped() -> None:
    document = parse_one("Before ![diagram](flow.png)after\n", "a.md")
    assert document.sections[0].text == "Before after"


def test_html_comments_are_dropped() -> None:
    document = parse_one("Keep <!-- drop --> this.\n<!--\nmulti\nline\n-->\nEnd.\n", "a.md")
    assert document.sections[0].text == "Keep  this.\n\nEnd."


def test_heading_inside_html_comment_is_not_a_section() -> None:
    document = parse_one("# Top\n\n<!--\n# Draft\n-->\nText\n", "a.md")
    assert [section.heading_path for section in document.sections] == [("Top",)]


def test_links_inside_code_are_kept_as_written() -> None:
    text = "Use `[x](y)` syntax.\n\n```\n[label](url)\n```\n"
    document = parse_one(text, "a.md")
    assert document.sections[0].text == "Use `[x](y)` syntax.\n\n```\n[label](url)\n```"


def test_lists_are_kept_as_written() -> None:
    document = parse_one("Steps:\n\n1. Stop\n2. Start\n   - check logs\n", "a.md")
    assert document.sections[0].text == "Steps:\n\n1. Stop\n2. Start\n   - check logs"


def test_three_blank_lines_collapse_to_one() -> None:
    document = parse_one("One.\n\n\n\n\nTwo.\n", "a.md")
    assert document.sections[0].text == "One.\n\nTwo."


def test_markdown_link_in_heading_keeps_its_label() -> None:
    document = parse_one("# See [Refunds](refunds.md)\n\nx\n", "a.md")
    assert document.sections[0].heading_path == ("See Refunds",)


# --- plain text -----------------------------------------------------------------------------


def test_plain_text_is_one_section_with_empty_heading_path() -> None:
    document = parse_one("Backups\n\nNightly at 02:00.\n\nKept 30 days.\n", "backups.txt")
    assert document.sections == (Section((), "Backups\n\nNightly at 02:00.\n\nKept 30 days."),)


def test_plain_text_title_is_its_short_first_line() -> None:
    assert parse_one("\n\n  Backups  \nNightly.\n", "b.txt").title == "Backups"


def test_plain_text_long_first_line_gives_title_from_file_name() -> None:
    assert parse_one("word " * 40 + "\n", "backup_policy.text").title == "Backup policy"


# --- reStructuredText ------------------------------------------------------------------------

RST_GUIDE = """\
==============
Payments Guide
==============

Intro paragraph.

Reversals
=========

Text about reversals.

Partial reversals
-----------------

Refund the rest::

   refund --partial 10

- check the ledger
- tell the customer
"""


def test_rst_document_title_comes_from_the_doctree() -> None:
    assert parse_one(RST_GUIDE, "guide.rst").title == "Payments Guide"


def test_rst_section_titles_form_heading_paths() -> None:
    document = parse_one(RST_GUIDE, "guide.rst")
    assert [section.heading_path for section in document.sections] == [
        ("Payments Guide",),
        ("Payments Guide", "Reversals"),
        ("Payments Guide", "Reversals", "Partial reversals"),
    ]


def test_rst_section_text_keeps_literal_blocks_and_lists() -> None:
    document = parse_one(RST_GUIDE, "guide.rst")
    assert document.sections[2].text == (
        "Refund the rest:\n\nrefund --partial 10\n\n- check the ledger\n- tell the customer"
    )


def test_rst_without_a_title_uses_the_file_name() -> None:
    text = "First\n=====\n\nOne.\n\nSecond\n======\n\nTwo.\n"
    assert parse_one(text, "ops/release-notes.rst").title == "Release notes"


def test_rst_include_directive_does_not_read_other_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET\n")
    document = parse_one(f"Before.\n\n.. include:: {secret}\n\nAfter.\n", "a.rst")
    assert document.sections == (Section((), "Before.\n\nAfter."),)


def test_rst_errors_are_not_printed(capsys: pytest.CaptureFixture[str]) -> None:
    parse_one("Text\n\n.. no-such-directive:: x\n\n`unclosed\n", "a.rst")
    assert capsys.readouterr() == ("", "")


def test_rst_note_keeps_its_label() -> None:
    document = parse_one(".. note:: Reversals take a day.\n", "a.rst")
    assert document.sections == (Section((), "Note: Reversals take a day."),)


# --- HTML -----------------------------------------------------------------------------------

HTML_PAGE = """\
<!DOCTYPE html>
<html><head><title>Payments &amp; Refunds</title>
<script>document.write("<h2>Injected</h2>")</script><style>h1 { color: red }</style>
</head><body>
<header><h1>Company wiki</h1></header>
<nav><ul><li><a href="/">Home</a></li></ul></nav>
<p>Intro   text
over two lines.</p>
<h1>Refunds</h1>
<p>Refunds take <b>five</b> days.</p>
<h2>Partial refunds</h2>
<ul><li>one</li><li>two</li></ul>
<footer>Copyright 2024</footer>
<noscript>Enable JavaScript</noscript>
</body></html>
"""


def test_html_title_comes_from_the_title_element() -> None:
    assert parse_one(HTML_PAGE, "pay.html").title == "Payments & Refunds"


def test_html_title_falls_back_to_the_first_h1() -> None:
    assert parse_one("<h1>Refunds</h1><p>x</p>", "pay.htm").title == "Refunds"


def test_html_headings_split_sections_with_heading_paths() -> None:
    document = parse_one(HTML_PAGE, "pay.html")
    assert document.sections == (
        Section((), "Intro text over two lines."),
        Section(("Refunds",), "Refunds take five days."),
        Section(("Refunds", "Partial refunds"), "- one\n- two"),
    )


def test_html_scripts_styles_and_page_chrome_are_ignored() -> None:
    text = parse_one(HTML_PAGE, "pay.html").text
    for ignored in ("Injected", "color", "Company wiki", "Home", "Copyright", "JavaScript"):
        assert ignored not in text


def test_html_entities_are_decoded() -> None:
    document = parse_one("<p>5 &lt; 6 &amp;&nbsp;caf&#233;</p>", "a.html")
    assert document.sections[0].text == "5 < 6 &\xa0café"


def test_html_line_breaks_and_table_cells_are_kept() -> None:
    html_text = "<div>one<br>two</div><table><tr><th>a</th><td>b</td></tr></table>"
    assert parse_one(html_text, "a.html").sections[0].text == "one\ntwo\n\na | b"


def test_html_preformatted_text_keeps_its_spacing() -> None:
    document = parse_one("<p>Run:</p><pre>make  image\n  --push</pre>", "a.html")
    assert document.sections[0].text == "Run:\n\nmake  image\n  --push"


def test_html_ledger_bot_url_meta_wins_over_canonical_link() -> None:
    head = (
        '<link rel="canonical" href="https://site/canonical">'
        '<meta name="ledger-bot:url" content="https://wiki/page">'
    )
    assert parse_one(head + "<p>x</p>", "a.html", base_url="https://b").url == "https://wiki/page"


def test_html_canonical_link_gives_the_url() -> None:
    html_text = '<link rel="canonical" href="https://site/page"><p>x</p>'
    assert parse_one(html_text, "a.html", base_url="https://b").url == "https://site/page"


# --- PDF ------------------------------------------------------------------------------------


def test_pdf_has_one_section_per_page() -> None:
    parsed = parse_file(make_pdf(["Refunds take five days.", "Chargebacks cost 15 EUR."]), "p.pdf")
    assert parsed.documents[0].sections == (
        Section(("Page 1",), "Refunds take five days."),
        Section(("Page 2",), "Chargebacks cost 15 EUR."),
    )


def test_pdf_blank_page_is_skipped_but_numbering_is_kept() -> None:
    parsed = parse_file(make_pdf(["First.", "", "Third."]), "p.pdf")
    assert [section.heading_path for section in parsed.documents[0].sections] == [
        ("Page 1",),
        ("Page 3",),
    ]


def test_pdf_title_comes_from_its_metadata() -> None:
    parsed = parse_file(make_pdf(["Text."], title="Payments Handbook"), "p.pdf")
    assert parsed.documents[0].title == "Payments Handbook"


def test_pdf_without_metadata_title_uses_the_file_name() -> None:
    parsed = parse_file(make_pdf(["Text."]), "handbooks/payments_handbook.pdf")
    assert parsed.documents[0].title == "Payments handbook"


def test_pdf_url_comes_from_base_url() -> None:
    parsed = parse_file(make_pdf(["Text."]), "h/p.pdf", base_url="https://files")
    assert parsed.documents[0].url == "https://files/h/p.pdf"


def test_corrupt_pdf_is_a_document_error() -> None:
    with pytest.raises(DocumentError, match=r"^corrupt PDF: "):
        parse_file(b"%PDF-1.4\nthis is not really a pdf", "broken.pdf")


def test_truncated_pdf_is_a_document_error() -> None:
    with pytest.raises(DocumentError, match=r"^corrupt PDF: "):
        parse_file(make_pdf(["Text."])[:120], "truncated.pdf")


def test_empty_pdf_file_is_a_document_error() -> None:
    with pytest.raises(DocumentError, match=r"^corrupt PDF: Cannot read an empty file$"):
        parse_file(b"", "empty.pdf")


def test_password_protected_pdf_is_a_document_error() -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.encrypt("secret", algorithm="RC4-128")
    encrypted = io.BytesIO()
    writer.write(encrypted)
    with pytest.raises(DocumentError, match=r"^encrypted PDF: remove its password"):
        parse_file(encrypted.getvalue(), "locked.pdf")


def test_pdf_without_text_is_reported_as_scanned() -> None:
    with pytest.raises(DocumentError, match=r"^no extractable text \(scanned PDF\?\)$"):
        parse_file(make_pdf(["", ""]), "scan.pdf")


def test_pdf_without_pypdf_installed_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pypdf", None)  # makes `import pypdf` fail
    with pytest.raises(MissingExtra, match=r"pip install 'ledger-bot\[pdf\]'"):
        parse_file(make_pdf(["Text."]), "p.pdf")


def test_rst_without_docutils_installed_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "docutils.core", None)  # makes the import fail
    with pytest.raises(MissingExtra, match=r"pip install 'ledger-bot\[rst\]'"):
        parse_file(b"Text\n", "a.rst")


# --- JSON Lines -----------------------------------------------------------------------------


def test_json_lines_record_becomes_a_document_with_its_id_as_source() -> None:
    line = '{"_id": "4983", "title": "White matter", "text": "Alterations of the brain."}\n'
    assert parse_file(line.encode(), "corpus.jsonl").documents == (
        Document("4983", "White matter", (Section((), "Alterations of the brain."),)),
    )


def test_json_lines_integer_id_becomes_a_string() -> None:
    parsed = parse_file(b'{"_id": 7, "title": "T", "text": "x"}\n', "c.jsonl")
    assert parsed.documents[0].source == "7"


def test_json_lines_record_without_title_uses_its_id() -> None:
    parsed = parse_file(b'{"_id": "d1", "text": "x"}\n', "c.jsonl")
    assert parsed.documents[0].title == "d1"


def test_json_lines_record_url_is_kept() -> None:
    parsed = parse_file(b'{"_id": "d1", "text": "x", "url": "https://d/1"}\n', "c.jsonl")
    assert parsed.documents[0].url == "https://d/1"


def test_json_lines_records_get_no_url_from_base_url() -> None:
    parsed = parse_file(b'{"_id": "d1", "text": "x"}\n', "c.jsonl", base_url="https://b")
    assert parsed.documents[0].url is None


def test_malformed_json_line_is_skipped_with_its_line_number() -> None:
    data = b'{"_id": "a", "text": "x"}\n{"_id": "b", "text": \n{"_id": "c", "text": "z"}\n'
    parsed = parse_file(data, "c.jsonl")
    assert (tuple(d.source for d in parsed.documents), parsed.warnings) == (
        ("a", "c"),
        ("line 2: not valid JSON (Expecting value) – skipped",),
    )


def test_json_line_that_is_not_an_object_is_skipped() -> None:
    parsed = parse_file(b'["_id", "text"]\n', "c.jsonl")
    assert parsed.warnings == ("line 1: not a JSON object – skipped",)


def test_json_line_without_id_is_skipped() -> None:
    parsed = parse_file(b'{"text": "x"}\n', "c.jsonl")
    assert parsed.warnings == ("line 1: no _id (a string or an integer) – skipped",)


def test_json_line_without_text_is_skipped() -> None:
    parsed = parse_file(b'{"_id": "a", "title": "T"}\n', "c.jsonl")
    assert parsed.warnings == ("line 1: no text (a string) – skipped",)


def test_duplicate_json_lines_id_keeps_the_first_record() -> None:
    data = b'{"_id": "a", "text": "first"}\n{"_id": "a", "text": "second"}\n'
    parsed = parse_file(data, "c.jsonl")
    assert (parsed.documents[0].text, parsed.warnings) == (
        "first",
        ("line 2: duplicate _id 'a' (first on line 1) – skipped",),
    )


def test_blank_json_lines_are_ignored() -> None:
    parsed = parse_file(b'\n{"_id": "a", "text": "x"}\n\n   \n', "c.jsonl")
    assert (len(parsed.documents), parsed.warnings) == (1, ())


def test_many_malformed_json_lines_give_a_bounded_number_of_warnings() -> None:
    parsed = parse_file(b"nope\n" * 60, "c.jsonl")
    assert (len(parsed.warnings), parsed.warnings[-1]) == (
        51,
        "… and 10 more malformed lines skipped",
    )


# --- discover -------------------------------------------------------------------------------


def write_files(root: Path, *relpaths: str) -> None:
    for relpath in relpaths:
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {relpath}\n")


def relpaths(found: list[FoundFile]) -> list[str]:
    return [item.relpath for item in found]


def test_discover_walks_folders_recursively_in_sorted_order(tmp_path: Path) -> None:
    write_files(tmp_path, "b.md", "a/z.txt", "a/b/c.rst", "C.pdf", "d.jsonl")
    found, skipped = discover([tmp_path])
    assert (relpaths(found), skipped) == (["C.pdf", "a/b/c.rst", "a/z.txt", "b.md", "d.jsonl"], [])


def test_discovered_file_has_resolved_root_and_absolute_path(tmp_path: Path) -> None:
    write_files(tmp_path, "guides/setup.md")
    found, _ = discover([tmp_path])
    root = tmp_path.resolve()
    assert found == [FoundFile(root, root / "guides/setup.md", "guides/setup.md")]


def test_discover_file_named_explicitly_has_its_folder_as_root(tmp_path: Path) -> None:
    write_files(tmp_path, "guides/setup.md")
    found, _ = discover([tmp_path / "guides" / "setup.md"])
    folder = tmp_path.resolve() / "guides"
    assert found == [FoundFile(folder, folder / "setup.md", "setup.md")]


def test_discover_skips_hidden_files_and_folders(tmp_path: Path) -> None:
    write_files(tmp_path, ".draft.md", ".git/notes.md", "kept.md")
    found, _ = discover([tmp_path])
    assert relpaths(found) == ["kept.md"]


def test_discover_skips_node_modules_and_pycache(tmp_path: Path) -> None:
    write_files(tmp_path, "node_modules/pkg/README.md", "__pycache__/x.txt", "kept.md")
    found, _ = discover([tmp_path])
    assert relpaths(found) == ["kept.md"]


def test_discover_ignores_unsupported_files_in_a_folder(tmp_path: Path) -> None:
    write_files(tmp_path, "logo.png", "plan.docx", "kept.md")
    assert discover([tmp_path]) == ([FoundFile(tmp_path, tmp_path / "kept.md", "kept.md")], [])


def test_discover_reports_unsupported_file_named_explicitly(tmp_path: Path) -> None:
    write_files(tmp_path, "plan.docx")
    path = tmp_path / "plan.docx"
    assert discover([path]) == ([], [SkippedPath(str(path), "unsupported file type")])


def test_discover_reports_a_missing_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere"
    assert discover([path]) == ([], [SkippedPath(str(path), "not found")])


def test_discover_reports_a_symlink_loop_and_finishes(tmp_path: Path) -> None:
    write_files(tmp_path, "docs/a.md")
    os.symlink(tmp_path / "docs", tmp_path / "docs" / "again")
    found, skipped = discover([tmp_path / "docs"])
    loop = str(tmp_path / "docs" / "again")
    assert (relpaths(found), skipped) == (["a.md"], [SkippedPath(loop, "symlink loop")])


def test_discover_reports_a_symlink_pointing_at_itself(tmp_path: Path) -> None:
    os.symlink(tmp_path / "self.md", tmp_path / "self.md")
    skipped = discover([tmp_path])[1]
    assert skipped == [SkippedPath(str(tmp_path / "self.md"), "symlink loop")]


def test_discover_follows_a_symlink_to_a_folder_outside_the_root(tmp_path: Path) -> None:
    write_files(tmp_path, "shared/faq.md", "docs/index.md")
    os.symlink(tmp_path / "shared", tmp_path / "docs" / "shared")
    found, _ = discover([tmp_path / "docs"])
    assert relpaths(found) == ["index.md", "shared/faq.md"]


def test_discover_follows_a_symlink_to_a_file(tmp_path: Path) -> None:
    write_files(tmp_path, "outside/faq.md", "docs/index.md")
    os.symlink(tmp_path / "outside" / "faq.md", tmp_path / "docs" / "faq.md")
    found, _ = discover([tmp_path / "docs"])
    assert relpaths(found) == ["faq.md", "index.md"]


def test_discover_reports_a_broken_symlink(tmp_path: Path) -> None:
    os.symlink(tmp_path / "gone.md", tmp_path / "link.md")
    skipped = discover([tmp_path])[1]
    assert skipped == [SkippedPath(str(tmp_path / "link.md"), "broken symlink")]


def test_discover_lists_a_file_reached_twice_only_once(tmp_path: Path) -> None:
    write_files(tmp_path, "docs/a.md")
    found, skipped = discover([tmp_path / "docs", tmp_path / "docs" / "a.md"])
    first = str(tmp_path / "docs" / "a.md")
    assert (relpaths(found), skipped) == (
        ["a.md"],
        [SkippedPath(first, f"already included as {first}")],
    )


def test_discover_reports_a_named_pipe_instead_of_blocking_on_it(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.md")
    skipped = discover([tmp_path])[1]
    assert skipped == [SkippedPath(str(tmp_path / "pipe.md"), "not a regular file")]


@pytest.mark.skipif(RUNNING_AS_ROOT, reason="root reads any folder, chmod 000 cannot stop it")
def test_discover_reports_an_unreadable_folder(tmp_path: Path) -> None:
    write_files(tmp_path, "locked/a.md", "open.md")
    (tmp_path / "locked").chmod(0)
    try:
        found, skipped = discover([tmp_path])
    finally:
        (tmp_path / "locked").chmod(0o755)
    locked = str(tmp_path / "locked")
    assert (relpaths(found), skipped) == (["open.md"], [SkippedPath(locked, "permission denied")])


@pytest.mark.skipif(RUNNING_AS_ROOT, reason="root reads any file, chmod 000 cannot stop it")
def test_discover_reports_an_unreadable_file(tmp_path: Path) -> None:
    write_files(tmp_path, "secret.md")
    (tmp_path / "secret.md").chmod(0)
    skipped = discover([tmp_path])[1]
    assert skipped == [SkippedPath(str(tmp_path / "secret.md"), "permission denied")]
