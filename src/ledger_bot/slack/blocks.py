"""Block Kit renderings of answers and notices, within Slack's limits whatever the input.

Every renderer keeps section texts to 3,000 characters, a message to 50 blocks (the App Home to
100) and 40,000 characters of text, and buttons within their own limits. Long answers are split
at paragraph breaks (a code fence cut by the split is closed and reopened), and an answer that
still does not fit is cut with a notice, keeping room for its sources and buttons.

Every renderer takes the ``language`` (a code of :data:`ledger_bot.i18n.LANGUAGES`) its own
texts are shown in; the answer and the asker's words are shown as they are.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ledger_bot import messages
from ledger_bot.documents import Answer
from ledger_bot.i18n import SOURCE_LANGUAGE, Translator, translator
from ledger_bot.slack.markup import markdown_to_mrkdwn, mrkdwn_link, plain_to_mrkdwn

if TYPE_CHECKING:
    from ledger_bot.service import QuestionOutcome

MAX_SECTION_CHARS = 3000
MAX_BLOCKS = 50
MAX_HOME_BLOCKS = 100
MAX_MESSAGE_CHARS = 40_000
MAX_HEADER_CHARS = 150
FALLBACK_CHARS = 300  # the notification text: a preview, not the whole answer
MAX_TITLE_CHARS = 150
MAX_LINK_CHARS = 1000  # longer links are shown as the title and source id instead
MAX_QUOTED_QUESTION_CHARS = 1500
MAX_LISTED_QUESTION_CHARS = 150
MAX_HOME_SOURCES = 20
MAX_HOME_RECENT = 20
FEEDBACK_BLOCK_ID = "feedback"

FENCE = "```"
_CLOSE_RESERVE = len("\n> ```")  # what closing a fence at a split can add to a piece
_MORE_RESERVE = 40  # room kept at the end of a list for "…and N more"
_MIN_SPLIT = 32
_PLAIN_SCAN_CHARS = 20_000  # plenty for a 300-character preview, whatever the markup
_ANSWER_SCAN_CHARS = 4 * MAX_MESSAGE_CHARS  # more Markdown than any one message can show
_LOOKAHEAD = 4000  # how far past a cut a link or entity that contains it is looked for
# Spans a split must not cut: Slack links and mentions, and escaped characters.
_PROTECTED = re.compile(r"<[^<>\n]*>|&(?:amp|lt|gt);")
_MD_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\([^()\s]*(?:\([^()\s]*\)[^()\s]*)*\)")
_MD_LINE_MARKUP = re.compile(r"^[ \t]*(?:>[ \t]?)*[ \t]*(?:#{1,6}[ \t]+)?")
_MD_BULLET = re.compile(r"^([-*+])[ \t]+")
_MD_FENCE = re.compile(r"^[ \t]*(?:```|~~~)")
_MD_EMPHASIS = re.compile(r"\*\*|__|~~|`")


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """A message to post: ``text`` is the plain notification and fallback text (never empty,
    at most 3,000 characters), ``blocks`` is what Slack shows."""

    text: str
    blocks: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        """The message as keyword arguments for chat.postMessage or respond()."""
        return {"text": self.text, "blocks": self.blocks}


# -- splitting ------------------------------------------------------------------------------


def split_mrkdwn(text: str, limit: int = MAX_SECTION_CHARS) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, for one section block each.

    Splits at a paragraph break, else a line break, else a space, else anywhere, preferring
    the latest break in the second half of a piece; never inside a link, mention or escaped
    character if it can help it. A code fence open at a split is closed at the end of the
    piece and reopened at the start of the next (one left open at the end is closed); a
    quoted line cut in two stays quoted.
    """
    if limit < _MIN_SPLIT:
        raise ValueError(f"limit must be at least {_MIN_SPLIT} characters, not {limit}")
    pieces: list[str] = []
    rest = text.rstrip().lstrip("\n")
    carry = ""  # what the next piece starts with: a reopened fence, a continued quote
    while rest.strip():
        if len(carry) + len(rest) <= limit:
            last = carry + rest
            fence = _open_fence(last)
            if fence is None:
                pieces.append(last)
                break
            if len(last) + len(fence) + len(FENCE) + 1 <= limit:
                pieces.append(f"{last}\n{fence}{FENCE}")
                break
        cut, skip = _find_cut(rest, limit - len(carry) - _CLOSE_RESERVE)
        line_start = rest.rfind("\n", 0, cut) + 1
        opens_fence = rest[line_start:cut].count(FENCE) % 2
        if line_start > 1 and opens_fence and _open_fence(carry + rest[:cut]) is not None:
            cut, skip = line_start - 1, 1  # don't end a piece with an empty code block
            line_start = rest.rfind("\n", 0, cut) + 1
        head, continued = rest[:cut].rstrip(), skip == 0 or rest[cut] == " "
        quoted = continued and rest.startswith(">", line_start)
        rest = rest[cut + skip :].lstrip("\n")
        if not head.strip():
            continue
        piece = carry + head
        carry = ""
        fence = _open_fence(piece)
        if fence is not None:
            piece += f"\n{fence}{FENCE}"
            carry = f"{fence}{FENCE}\n"
        if quoted:
            carry += "> "
        pieces.append(piece)
    return pieces


def _find_cut(text: str, budget: int) -> tuple[int, int]:
    """Where to cut ``text`` so the first part has at most ``budget`` characters, and how
    many separator characters to drop there."""
    spans = list(_PROTECTED.finditer(text, 0, budget + _LOOKAHEAD))
    starts = [span.start() for span in spans]

    def enclosing(position: int) -> int | None:
        index = bisect_left(starts, position) - 1
        if index >= 0 and spans[index].end() > position:
            return spans[index].start()
        return None

    for floor in (budget // 2, 1):
        for separator in ("\n\n", "\n", " "):
            position = text.rfind(separator, 0, budget + len(separator))
            while position >= floor and enclosing(position) is not None:
                position = text.rfind(separator, 0, position)
            if position >= floor:
                return position, len(separator)
    start = enclosing(budget)
    return (start if start else budget), 0


def _open_fence(text: str) -> str | None:
    """The prefix ("" or "> ") of the code fence still open at the end of ``text``, if any."""
    prefix: str | None = None
    for line in text.split("\n"):
        if line.count(FENCE) % 2:
            prefix = None if prefix is not None else ("> " if line.startswith(">") else "")
    return prefix


def _truncate(text: str, limit: int = MAX_SECTION_CHARS) -> str:
    """Mrkdwn ``text`` cut at a break to at most ``limit`` characters, "…" marking the cut."""
    if len(text) <= limit:
        return text
    pieces = split_mrkdwn(text[: limit + _LOOKAHEAD], limit - 2)  # only the first is needed
    if not pieces:
        return ""
    return pieces[0] + ("\n…" if pieces[0].endswith(FENCE) else "…")


def _clip(text: str, limit: int) -> str:
    """Plain ``text`` on one line, cut to ``limit`` characters at a space if it can be."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit - 1].rstrip() + "…"


# -- block pieces ---------------------------------------------------------------------------


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": _clip(text, MAX_HEADER_CHARS), "emoji": True},
    }


def _button(action_id: str, text: str, value: int, *, primary: bool = False) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "value": str(value),
    }
    if primary:
        button["style"] = "primary"
    return button


def _actions(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not buttons:
        return []
    return [{"type": "actions", "block_id": FEEDBACK_BLOCK_ID, "elements": buttons}]


def _feedback_buttons(question_id: int, tr: Translator) -> list[dict[str, Any]]:
    return [
        _button("feedback_up", tr(messages.SLACK_BUTTON_HELPFUL), question_id),
        _button("feedback_down", tr(messages.SLACK_BUTTON_NOT_HELPFUL), question_id),
    ]


def _text_length(value: Any) -> int:
    """How many characters of text Slack counts in blocks: every ``text`` string."""
    if isinstance(value, list):
        return sum(_text_length(item) for item in value)
    if isinstance(value, dict):
        return sum(
            len(item) if key == "text" and isinstance(item, str) else _text_length(item)
            for key, item in value.items()
        )
    return 0


def _plain(markdown: str) -> str:
    """Markdown reduced to plain words on one line, for notifications."""
    lines = []
    for line in markdown[:_PLAIN_SCAN_CHARS].split("\n"):
        line = _MD_LINE_MARKUP.sub("", line)
        if not _MD_FENCE.match(line):
            lines.append(_MD_BULLET.sub("• ", line))
    text = _MD_LINK.sub(r"\1", " ".join(lines))
    return " ".join(_MD_EMPHASIS.sub("", text).split())


def _fallback(plain: str, *, default: str, prefix: str = "") -> str:
    """The notification text: ``prefix`` (mrkdwn) and the start of ``plain``, escaped."""
    return prefix + plain_to_mrkdwn(_clip(plain, FALLBACK_CHARS) or default)


def _link(source: str, title: str, url: str | None) -> str:
    """A document as a link to its URL, or its title and source id when it has none."""
    title = _clip(title, MAX_TITLE_CHARS) or _clip(source, MAX_TITLE_CHARS)
    if url:
        link = mrkdwn_link(url, title)
        if len(link) <= MAX_LINK_CHARS:
            return link
    code = plain_to_mrkdwn(_clip(source, MAX_TITLE_CHARS).replace("`", "'"))
    return f"{plain_to_mrkdwn(title)} `{code}`"


def _listing(heading: str, lines: Sequence[str], tr: Translator, *, hidden: int = 0) -> str:
    """``heading`` and as many ``lines`` as fit in one section, then "…and N more"."""
    text = heading
    for index, line in enumerate(lines):
        last = index == len(lines) - 1 and not hidden
        if len(text) + 1 + len(line) > MAX_SECTION_CHARS - (0 if last else _MORE_RESERVE):
            hidden += len(lines) - index
            break
        text += "\n" + line
    if hidden:
        text += "\n" + plain_to_mrkdwn(tr(messages.SLACK_MORE_ITEMS, count=hidden))
    return text


def _sources(answer: Answer, tr: Translator) -> list[dict[str, Any]]:
    if not answer.citations:
        return []
    lines = [
        f"[{number}] {_link(c.source, c.title, c.url)}"
        for number, c in enumerate(answer.citations, start=1)
    ]
    return [_context(_listing(f"*{plain_to_mrkdwn(tr(messages.SOURCES_HEADING))}*", lines, tr))]


def _notes(notes: Sequence[str]) -> list[dict[str, Any]]:
    text = "\n".join(note.strip() for note in notes if note.strip())
    return [_context(_truncate(plain_to_mrkdwn(text)))] if text else []


def _fit(
    head: list[dict[str, Any]],
    markdown: str,
    tail: list[dict[str, Any]],
    text: str,
    tr: Translator,
) -> SlackMessage:
    """``head``, as many sections of ``markdown`` as the message has room for, and ``tail``.

    ``head`` and ``tail`` hold a few blocks of at most 3,000 characters each; the answer gets
    the rest of the 50 blocks and 40,000 characters, less a block for the cut notice.
    """
    clipped = len(markdown) > _ANSWER_SCAN_CHARS
    sections = split_mrkdwn(markdown_to_mrkdwn(markdown[:_ANSWER_SCAN_CHARS]))
    notice = _context(plain_to_mrkdwn(tr(messages.SLACK_ANSWER_CUT)))
    block_room = MAX_BLOCKS - len(head) - len(tail) - 1
    char_room = MAX_MESSAGE_CHARS - len(text) - _text_length([*head, *tail, notice])
    kept: list[dict[str, Any]] = []
    cut = clipped
    for section in sections:
        if len(kept) == block_room or len(section) > char_room:
            cut = True
            break
        kept.append(_section(section))
        char_room -= len(section)
    if not sections:
        kept.append(_section(plain_to_mrkdwn(tr(messages.SLACK_ANSWER_EMPTY))))
    if cut:
        kept.append(notice)
    return SlackMessage(text=text, blocks=[*head, *kept, *tail])


# -- renderers ------------------------------------------------------------------------------


def render_text(text: str) -> SlackMessage:
    """Plain ``text`` as a one-section message (a notice, a rejection, an apology)."""
    if not text.strip():
        raise ValueError("render_text needs some text to show")
    return SlackMessage(
        text=_fallback(text, default=text), blocks=[_section(_truncate(plain_to_mrkdwn(text)))]
    )


def render_file_notice(*, language: str = SOURCE_LANGUAGE) -> SlackMessage:
    """The reply to a file shared without a question: files are not read yet."""
    return render_text(translator(language)(messages.SLACK_FILES_NOT_READ))


def render_partial(markdown: str, *, language: str = SOURCE_LANGUAGE) -> SlackMessage:
    """An answer still being written by the language model, with a "writing…" line under it."""
    tr = translator(language)
    writing = tr(messages.SLACK_WRITING)
    tail = [_context(plain_to_mrkdwn(writing))]
    plain = _plain(markdown)
    return _fit([], markdown, tail, _fallback(plain, default=writing), tr)


def render_thinking(*, language: str = SOURCE_LANGUAGE) -> SlackMessage:
    """The placeholder shown while a question is being answered."""
    thinking = plain_to_mrkdwn(translator(language)(messages.SLACK_THINKING))
    return SlackMessage(text=thinking, blocks=[_context(thinking)])


def render_outcome(
    outcome: QuestionOutcome,
    *,
    escalation: bool,
    feedback: bool = True,
    share: bool = False,
    language: str = SOURCE_LANGUAGE,
) -> SlackMessage:
    """The reply to a question: the answer with its sources, the closest documents when none
    was found, or the outcome's message; with feedback, share and escalation buttons where
    they apply (each needs the question's id)."""
    tr = translator(language)
    answer, question_id = outcome.answer, outcome.question_id
    buttons: list[dict[str, Any]] = []
    if outcome.outcome == "answered" and answer is not None:
        if question_id is not None and feedback:
            buttons += _feedback_buttons(question_id, tr)
        if question_id is not None and share:
            buttons.append(
                _button("share_answer", tr(messages.SLACK_BUTTON_SHARE), question_id, primary=True)
            )
        plain = _plain(answer.text)
        return _fit(
            _notes(outcome.notes),
            answer.text,
            [*_sources(answer, tr), *_actions(buttons)],
            _fallback(plain, default=tr(messages.SLACK_ANSWER_EMPTY)),
            tr,
        )
    if escalation and question_id is not None and outcome.outcome in ("not_found", "error"):
        buttons.append(_button("escalate", tr(messages.SLACK_BUTTON_ESCALATE), question_id))
    if outcome.outcome == "not_found":
        return _not_found(outcome, buttons, tr)
    failed = tr(messages.ANSWER_FAILED)
    message = outcome.message.strip() or failed
    return SlackMessage(
        text=_fallback(message, default=failed),
        blocks=[_section(_truncate(plain_to_mrkdwn(message))), *_actions(buttons)],
    )


def _not_found(
    outcome: QuestionOutcome, buttons: list[dict[str, Any]], tr: Translator
) -> SlackMessage:
    suggestions = outcome.answer.suggestions if outcome.answer is not None else ()
    if suggestions:
        lines = [f"• {_link(s.source, s.title, s.url)}" for s in suggestions]
        closest = _listing(plain_to_mrkdwn(tr(messages.NOT_FOUND_SUGGESTIONS)), lines, tr)
    else:
        closest = plain_to_mrkdwn(tr(messages.NOT_FOUND_NO_SUGGESTIONS))
    not_found = plain_to_mrkdwn(tr(messages.NOT_FOUND))
    blocks = [
        *_notes(outcome.notes),
        _section(not_found),
        _section(closest),
        *_actions(buttons),
    ]
    return SlackMessage(text=not_found, blocks=blocks)


def render_feedback_ack(
    value: str, *, question_id: int, escalation: bool, language: str = SOURCE_LANGUAGE
) -> SlackMessage:
    """The private thanks for a vote; ``value`` is "up" or "down" (or the button's action id).

    After a "down" vote, with escalation on, it offers to ask a person.
    """
    vote = value.removeprefix("feedback_")
    if vote not in ("up", "down"):
        raise ValueError(f"a feedback vote is 'up' or 'down', not {value!r}")
    tr = translator(language)
    if vote == "up":
        return render_text(tr(messages.SLACK_FEEDBACK_THANKS))
    if not escalation:
        return render_text(tr(messages.SLACK_FEEDBACK_THANKS_DOWN))
    text = f"{tr(messages.SLACK_FEEDBACK_THANKS_DOWN)} {tr(messages.SLACK_FEEDBACK_OFFER_HUMAN)}"
    button = _button("escalate", tr(messages.SLACK_BUTTON_ESCALATE), question_id)
    return SlackMessage(
        text=plain_to_mrkdwn(text), blocks=[_section(plain_to_mrkdwn(text)), *_actions([button])]
    )


def render_escalation(
    *,
    question: str,
    answer_text: str,
    asker: str,
    permalink: str | None,
    usergroup: str | None,
    language: str = SOURCE_LANGUAGE,
) -> SlackMessage:
    """The request posted to the escalation channel: who asked what, what the bot answered,
    and a link to the conversation; ``usergroup`` (an id such as ``S0123``) is mentioned."""
    tr = translator(language)
    group = _usergroup_mention(usergroup)
    request = plain_to_mrkdwn(tr(messages.SLACK_ESCALATION_REQUEST)).format(asker=f"<@{asker}>")
    if group:
        request = f"{group} {request}"
    asked = question.strip()
    if len(asked) > MAX_QUOTED_QUESTION_CHARS:
        asked = asked[: MAX_QUOTED_QUESTION_CHARS - 1].rstrip() + "…"
    quoted = "\n".join(f"> {plain_to_mrkdwn(line)}" for line in asked.split("\n"))
    blocks = [_section(_truncate(f"{request}\n{quoted}"))]
    if answer_text.strip():
        heading = f"*{plain_to_mrkdwn(tr(messages.SLACK_ESCALATION_ANSWER))}*\n"
        body = markdown_to_mrkdwn(answer_text[:_ANSWER_SCAN_CHARS])
        if len(answer_text) > _ANSWER_SCAN_CHARS:
            body += "\n…"
        body = _truncate(body, MAX_SECTION_CHARS - len(heading))
        blocks.append(_section(heading + body))
    if permalink:
        link = mrkdwn_link(permalink, tr(messages.SLACK_ESCALATION_THREAD))
        if len(link) <= MAX_SECTION_CHARS:
            blocks.append(_context(link))
    return SlackMessage(text=_fallback(question, default="…", prefix=request + " "), blocks=blocks)


def _usergroup_mention(usergroup: str | None) -> str:
    group = (usergroup or "").strip()
    if not group or group.startswith("<!subteam^"):
        return group
    return f"<!subteam^{group}>"


def render_escalation_done(channel: str, *, language: str = SOURCE_LANGUAGE) -> SlackMessage:
    """The private confirmation that the team was asked in ``channel`` (an id)."""
    done = translator(language)(messages.SLACK_ESCALATION_DONE)
    text = plain_to_mrkdwn(done).format(channel=f"<#{channel}>")
    return SlackMessage(text=text, blocks=[_section(text)])


def render_shared_answer(
    *,
    question: str,
    answer: Answer,
    asker: str,
    question_id: int | None = None,
    language: str = SOURCE_LANGUAGE,
) -> SlackMessage:
    """An answer posted to the channel by its asker: who asked what, the answer and its
    sources, and feedback buttons when ``question_id`` is given."""
    tr = translator(language)
    asked = plain_to_mrkdwn(tr(messages.SLACK_SHARED_ASKED)).format(
        asker=f"<@{asker}>", question=plain_to_mrkdwn(_clip(question, MAX_QUOTED_QUESTION_CHARS))
    )
    buttons = _feedback_buttons(question_id, tr) if question_id is not None else []
    return _fit(
        [_context(_truncate(asked))],
        answer.text,
        [*_sources(answer, tr), *_actions(buttons)],
        _fallback(_plain(answer.text), default=tr(messages.SLACK_ANSWER_EMPTY)),
        tr,
    )


def render_home(
    *,
    documents: int,
    chunks: int,
    last_indexed_at: datetime | None,
    sources: list[tuple[str, str, str | None]],
    more_sources: int,
    command: str,
    recent: list[tuple[str, str, datetime]],
    language: str = SOURCE_LANGUAGE,
) -> dict[str, Any]:
    """The App Home view: what the bot knows, its documents (``(source, title, url)``, the
    first 20 shown), how to ask, and the asker's ``recent`` questions
    (``(question, outcome, asked_at)``)."""
    tr = translator(language)

    def heading(text: str) -> str:
        return f"*{plain_to_mrkdwn(tr(text))}*"

    counts = {
        "documents": plain_to_mrkdwn(tr.plural(messages.SLACK_HOME_DOCUMENTS, documents)),
        "passages": plain_to_mrkdwn(tr.plural(messages.SLACK_HOME_PASSAGES, chunks)),
    }
    if last_indexed_at is None:
        knowledge = plain_to_mrkdwn(tr(messages.SLACK_HOME_NOT_INDEXED)).format(**counts)
    else:
        when = _slack_date(last_indexed_at, tr)
        knowledge = plain_to_mrkdwn(tr(messages.SLACK_HOME_INDEXED)).format(**counts, when=when)
    shown = sources[:MAX_HOME_SOURCES]
    documents_heading = heading(messages.SLACK_HOME_SOURCES_HEADING)
    if shown:
        lines = [f"• {_link(source, title, url)}" for source, title, url in shown]
        hidden = len(sources) - len(shown) + max(0, more_sources)
        listed = _listing(documents_heading, lines, tr, hidden=hidden)
    else:
        listed = f"{documents_heading}\n{plain_to_mrkdwn(tr(messages.SLACK_HOME_NO_SOURCES))}"
    code = plain_to_mrkdwn(_clip(command, MAX_TITLE_CHARS).replace("`", "'"))
    how = [
        "• " + plain_to_mrkdwn(tr(line)).format(command=f"`{code}`")
        for line in messages.SLACK_HOME_HOW_TO_ASK
    ]
    recent_heading = heading(messages.SLACK_HOME_RECENT_HEADING)
    if recent:
        asked = [_recent_line(*item, tr) for item in recent[:MAX_HOME_RECENT]]
        questions = _listing(recent_heading, asked, tr)
    else:
        questions = f"{recent_heading}\n{plain_to_mrkdwn(tr(messages.SLACK_HOME_NO_RECENT))}"
    blocks = [
        _header(tr(messages.SLACK_HOME_HEADER)),
        _section(plain_to_mrkdwn(tr(messages.SLACK_HOME_INTRO))),
        _section(f"{heading(messages.SLACK_HOME_KNOWLEDGE_HEADING)}\n{knowledge}"),
        _section(listed),
        {"type": "divider"},
        _section(_truncate(f"{heading(messages.SLACK_HOME_HOW_HEADING)}\n" + "\n".join(how))),
        {"type": "divider"},
        _section(questions),
    ]
    return {"type": "home", "blocks": blocks}


def _slack_date(when: datetime, tr: Translator) -> str:
    """A date Slack shows in the reader's time zone, with a UTC fallback."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    fallback = when.astimezone(UTC).strftime(tr(messages.SLACK_DATE_FALLBACK))
    tokens = tr(messages.SLACK_DATE_FORMAT)
    return f"<!date^{int(when.timestamp())}^{tokens}|{plain_to_mrkdwn(fallback)}>"


def _recent_line(question: str, outcome: str, asked_at: datetime, tr: Translator) -> str:
    label = messages.SLACK_OUTCOME_LABELS.get(outcome)
    text = plain_to_mrkdwn(_clip(question, MAX_LISTED_QUESTION_CHARS))
    shown = plain_to_mrkdwn(tr(label) if label is not None else outcome)
    return f"• {text} — {shown} · {_slack_date(asked_at, tr)}"
