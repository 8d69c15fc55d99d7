"""The knowledge base follows the checkout git-sync publishes: LEDGER_BOT_SOURCES names the
``current`` symlink, and each new commit is a new worktree the symlink is swapped to (the
old worktree is then deleted). This is the layout the Deployment gives the bot."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ledger_bot.indexer import index_paths
from ledger_bot.knowledge_base import SqliteKnowledgeBase


def publish(root: Path, commit: str, files: dict[str, str]) -> Path:
    """Check ``files`` out as worktree ``commit`` and point ``root/current`` at it atomically,
    removing the previous worktree, as git-sync v4 does."""
    worktrees = root / ".worktrees"
    worktree = worktrees / commit
    for name, text in files.items():
        (worktree / name).parent.mkdir(parents=True, exist_ok=True)
        (worktree / name).write_text(text, encoding="utf-8")
    link = root / "current"
    previous = link.resolve() if link.is_symlink() else None
    staged = root / "current.tmp"
    staged.symlink_to(Path(".worktrees") / commit)
    os.replace(staged, link)
    if previous is not None:
        shutil.rmtree(previous)
    return link


def test_a_new_commit_replaces_the_documents_of_the_previous_one(tmp_path: Path) -> None:
    root = tmp_path / "git"
    kb = SqliteKnowledgeBase.open(tmp_path / "knowledge.db", create=True)
    try:
        link = publish(root, "1111111", {"runbooks/deploy.md": "# Deploy\n\nRoll back with v1.\n"})
        index_paths(kb, [link])
        publish(root, "2222222", {"runbooks/deploy.md": "# Deploy\n\nRoll back with v2.\n"})
        report = index_paths(kb, [link])
        document = kb.get_document("runbooks/deploy.md")
        assert (report.failed, kb.stats().documents, document and document.text) == (
            [],
            1,
            "Roll back with v2.",
        )
    finally:
        kb.close()
