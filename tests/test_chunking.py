from ledger_bot.chunking import chunk_document, split_text
from ledger_bot.documents import Document, Section


def test_short_text_is_one_chunk() -> None:
    assert split_text("One paragraph.\n\nAnother one.", 200) == ["One paragraph.\n\nAnother one."]


def test_paragraphs_are_packed_up_to_the_limit() -> None:
    text = "\n\n".join(["a" * 90, "b" * 90, "c" * 90])
    assert split_text(text, 200) == ["a" * 90 + "\n\n" + "b" * 90, "c" * 90]


def test_long_paragraph_is_cut_at_sentence_ends() -> None:
    sentence = "This sentence is exactly forty chars ok."
    pieces = split_text(" ".join([sentence] * 6), 100)
    assert pieces == [f"{sentence} {sentence}"] * 3


def test_code_block_with_blank_lines_stays_whole() -> None:
    text = "Run this:\n\n```sh\nmake dev\n\nmake test\n```"
    assert split_text(text, 1000) == [text]


def test_word_longer_than_limit_is_hard_cut() -> None:
    assert split_text("x" * 250, 100) == ["x" * 100, "x" * 100, "x" * 50]


def test_chunks_keep_their_heading_path() -> None:
    document = Document(
        source="a.md",
        title="A",
        sections=(
            Section(("Guide",), "Intro."),
            Section(("Guide", "Reversals"), "Post a reversing entry."),
        ),
    )
    chunks = chunk_document(document, 500)
    assert [(c.ordinal, c.heading, c.text) for c in chunks] == [
        (0, "Guide", "Intro."),
        (1, "Guide › Reversals", "Post a reversing entry."),
    ]


def test_no_chunk_exceeds_the_limit() -> None:
    text = "\n\n".join(f"Paragraph {i} " + "word " * (i * 7) for i in range(40))
    assert max(len(piece) for piece in split_text(text, 300)) <= 300


def test_a_long_table_is_cut_between_rows_under_its_header() -> None:
    rows = "\n".join(f"| {i} | status number {i} is explained here |" for i in range(12))
    table = f"| Value | Meaning |\n|---|---|\n{rows}"
    pieces = split_text(table, 160)
    assert len(pieces) > 1
    for piece in pieces:
        lines = piece.split("\n")
        assert lines[:2] == ["| Value | Meaning |", "|---|---|"]
        assert all(line.startswith("| ") and line.endswith(" |") for line in lines[2:])
    body = [line for piece in pieces for line in piece.split("\n")[2:]]
    assert body == rows.split("\n")


def test_table_padding_is_dropped() -> None:
    table = "| Value | Status      |\n|-------|-------------|\n| 0     | normal      |"
    assert split_text(table, 500) == ["| Value | Status |\n|-------|-------------|\n| 0 | normal |"]


def test_a_lead_in_stays_with_the_block_it_introduces() -> None:
    intro = " ".join(["Some background."] * 5)
    table = "| Value | Status |\n|---|---|\n" + "\n".join(f"| {i} | state {i} |" for i in range(8))
    text = f"{intro}\n\nThe values are:\n\n{table}"
    pieces = split_text(text, len(table) + 30)
    assert pieces[0] == intro
    assert pieces[1].startswith("The values are:\n\n| Value | Status |")


def test_a_lead_in_stays_with_a_long_code_block() -> None:
    code = "```sh\n" + "\n".join(f"run step {i}" for i in range(30)) + "\n```"
    pieces = split_text(f"Run these:\n\n{code}", 120)
    assert pieces[0].startswith("Run these:\n\n```sh\nrun step 0")
    assert max(len(piece) for piece in pieces) <= 120
