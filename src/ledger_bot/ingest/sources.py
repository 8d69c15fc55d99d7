"""Names and links derived from a file's path when the file itself does not give them."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

_SEPARATORS = re.compile(r"[-_\s]+")


def title_from_path(relpath: str) -> str:
    """``"guides/on-call-runbook.md"`` -> ``"On call runbook"``."""
    name = PurePosixPath(relpath).name
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    words = _SEPARATORS.sub(" ", stem).strip()
    if not words:
        return name or relpath
    return words[:1].upper() + words[1:]


def url_for(relpath: str, base_url: str | None) -> str | None:
    """The link to a file under ``base_url``, or None when no base URL is configured."""
    if not base_url:
        return None
    return base_url.rstrip("/") + "/" + relpath.lstrip("/")
