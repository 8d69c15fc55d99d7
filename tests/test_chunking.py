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
