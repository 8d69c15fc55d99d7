from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger_bot.indexer import index_paths
from ledger_bot.knowledge_base import SqliteKnowledgeBase

REPO = Path(__file__).resolve().parent.parent
SAMPLE_KB = REPO / "sample-kb"
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A knowledge base built once from the bundled sample documents."""
    db = tmp_path_factory.mktemp("sample") / "knowledge.db"
    kb = SqliteKnowledgeBase.open(db, create=True)
    report = index_paths(kb, [SAMPLE_KB])
    assert not report.failed, report.failed
    kb.close()
    return db


@pytest.fixture
def sample_kb(sample_db: Path) -> Iterator[SqliteKnowledgeBase]:
    kb = SqliteKnowledgeBase.open(sample_db)
    yield kb
    kb.close()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """An empty folder to write documents into."""
    folder = tmp_path / "docs"
    folder.mkdir()
    return folder


def write(folder: Path, relpath: str, text: str) -> Path:
    path = folder / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
