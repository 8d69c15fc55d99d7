"""YAML front matter at the top of a Markdown file (``---`` … ``---``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

_OPENING = "---"
_CLOSINGS = ("---", "...")


@dataclass(frozen=True, slots=True)
class FrontMatter:
    """The metadata block and the text after it. ``warning`` is set when the block was ignored."""

    body: str
    fields: dict[str, object] = field(default_factory=dict)
    warning: str | None = None

    def string(self, key: str) -> str | None:
        """A field as a non-empty string (numbers are accepted and converted), else None."""
        value = self.fields.get(key)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return None
        return str(value).strip() or None


def split_front_matter(text: str) -> FrontMatter:
    """Separate the front matter from the body.

    Without a closing line there is no front matter and the whole text is the body. A block
    that is not a YAML mapping is dropped from the body and reported in ``warning``.
    """
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != _OPENING:
        return FrontMatter(body=text)
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in _CLOSINGS), None)
    if end is None:
        return FrontMatter(body=text)
    block = "\n".join(lines[1:end])
    body = "\n".join(lines[end + 1 :])
    try:
        loaded = yaml.safe_load(block)
    except Exception as exc:  # a YAMLError, or a ValueError from e.g. an impossible date
        return FrontMatter(body=body, warning=f"front matter ignored: {_describe(exc)}")
    if loaded is None:
        return FrontMatter(body=body)
    if not isinstance(loaded, dict):
        return FrontMatter(body=body, warning="front matter ignored: not a YAML mapping")
    return FrontMatter(body=body, fields={str(key): value for key, value in loaded.items()})


def _describe(exc: Exception) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        # The block starts on line 2 of the file, after the opening "---".
        where = f" on line {mark.line + 2}" if mark is not None else ""
        return f"not valid YAML ({exc.problem}{where})"
    return f"not valid YAML ({exc})"
