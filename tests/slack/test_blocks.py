from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ledger_bot import messages
from ledger_bot.documents import Answer, Citation
from ledger_bot.i18n import translate
from ledger_bot.service import QuestionOutcome
from ledger_bot.slack.blocks import (
    SlackMessage,
    render_escalation,
    render_escalation_done,
    render_feedback_ack,
    render_file_notice,
    render_home,
    render_outcome,
    render_partial,
    render_shared_answer,
    render_text,
    render_thinking,
    split_mrkdwn,
)

HUGE = "\n\n".join(
    f"Paragraph {n}: " + "the ledger balances debits and credits " * 12 for n in range(250)
)
NO_BREAKS = "x" * 100_000
WHEN = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
WHEN_TOKEN = "<!date^1795701600^{date_short_pretty} at {time}|2026-11-26 14:00 UTC>"


# -- Slack's limits -----------------------------------------------------------------------------


def text_length(value: Any) -> int:
    if isinstance(value, list):
        return sum(text_length(item) for item in value)
    if isinstance(value, dict):
        return sum(
            len(item) if key == "text" and isinstance(item, str) else text_length(item)
            for key, item in value.items()
        )
    return 0


def assert_blocks_within_limits(blocks: list[dict[str, Any]], *, max_blocks: int = 50) -> None:
    assert len(blocks) <= max_blocks
    block_ids = [block["block_id"] for block in blocks if "block_id" in block]
    assert len(block_ids) == len(set(block_ids))
    assert all(len(block_id) <= 255 for block_id in block_ids)
    for block in blocks:
        kind = block["type"]
        if kind == "section":
            text = block["text"]["text"]
            assert text.strip()
            assert len(text) <= 3000
            assert text.count("```") % 2 == 0, text
        elif kind == "context":
            assert 1 <= len(block["elements"]) <= 10
            assert all(e["text"].strip() and len(e["text"]) <= 3000 for e in block["elements"])
        elif kind == "header":
            assert 0 < len(block["text"]["text"]) <= 150
        elif kind == "actions":
            assert 1 <= len(block["elements"]) <= 25
            for button in block["elements"]:
                assert 0 < len(button["text"]["text"]) <= 75
                assert len(button["value"]) <= 2000
                assert len(button["action_id"]) <= 255
        else:
            assert kind == "divider"
    assert text_length(blocks) <= 40_000


def assert_within_limits(message: SlackMessage) -> None:
    assert message.text.strip()
    assert len(message.text) <= 3000
    assert_blocks_within_limits(message.blocks)
    assert len(message.text) + text_length(message.blocks) <= 40_000


def answer(text: str = "Void it [1].", *citations: Citation) -> Answer:
    return Answer(text=text, answered=True, citations=citations)


def outcome(kind: str = "answered", **fields: Any) -> QuestionOutcome:
    fields.setdefault("question_id", 7)
    if kind == "answered":
        fields.setdefault("answer", answer())
    return QuestionOutcome(kind, "req-1", **fields)


def actions(message: SlackMessage) -> list[str]:
    return [
        element["action_id"]
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def sections(message: SlackMessage) -> list[str]:
    return [block["text"]["text"] for block in message.blocks if block["type"] == "section"]


def contexts(message: SlackMessage) -> list[str]:
    return [
        element["text"]
        for block in message.blocks
        if block["type"] == "context"
        for element in block["elements"]
    ]


GUIDE = Citation("guides/void.md", "Voiding & reversing", "https://docs.x.com/void?a=1&b=2", 1.0)
LOCAL = Citation("notes/ops.md", "Ops notes", None, 0.5)


# -- split_mrkdwn -------------------------------------------------------------------------------


def test_split_keeps_short_text_whole() -> None:
    assert split_mrkdwn("short") == ["short"]


def test_split_of_blank_text_is_empty() -> None:
    assert split_mrkdwn(" \n \n") == []


def test_split_prefers_a_paragraph_break() -> None:
    assert split_mrkdwn("a" * 20 + "\n\n" + "b" * 20 + " ccccc", 40) == [
        "a" * 20,
        "b" * 20 + " ccccc",
    ]


def test_split_falls_back_to_a_line_break() -> None:
    assert split_mrkdwn("a" * 20 + "\n" + "b" * 25, 40) == ["a" * 20, "b" * 25]


def test_split_falls_back_to_a_space() -> None:
    assert split_mrkdwn("word " * 10, 40) == [
        "word word word word word word word",
        "word word word",
    ]


def test_split_hard_cuts_text_without_breaks() -> None:
    assert split_mrkdwn("x" * 100, 40) == ["x" * 34, "x" * 34, "x" * 32]


def test_split_closes_and_reopens_a_code_fence() -> None:
    text = "```\n" + "\n".join(f"line {n}" for n in range(8)) + "\n```"
    assert split_mrkdwn(text, 40) == [
        "```\nline 0\nline 1\nline 2\nline 3\n```",
        "```\nline 4\nline 5\nline 6\nline 7\n```",
    ]


def test_split_closes_a_fence_left_open_at_the_end() -> None:
    assert split_mrkdwn("```\ncode", 40) == ["```\ncode\n```"]


def test_split_does_not_end_a_piece_with_an_empty_code_block() -> None:
    text = "a" * 30 + "\n```\n" + "code\n" * 10 + "```"
    assert split_mrkdwn(text, 40) == [
        "a" * 30,
        "```\ncode\ncode\ncode\ncode\ncode\ncode\n```",
        "```\ncode\ncode\ncode\ncode\n```",
    ]


def test_split_never_cuts_inside_a_link() -> None:
    text = "read it in <https://x.com/g|the user guide> first"
    assert split_mrkdwn(text, 40) == ["read it in", "<https://x.com/g|the user guide> first"]


def test_split_never_cuts_an_escaped_character() -> None:
    assert split_mrkdwn("&amp;" * 20, 40) == ["&amp;" * 6, "&amp;" * 6, "&amp;" * 8]


def test_split_keeps_a_cut_quote_line_quoted() -> None:
    assert split_mrkdwn("> " + "word " * 12, 40) == [
        "> word word word word word word",
        "> word word word word word word",
    ]


def test_split_pieces_of_100_kb_fit_the_limit() -> None:
    assert max(len(piece) for piece in split_mrkdwn(HUGE + NO_BREAKS)) <= 3000


def test_split_of_100_kb_loses_no_words() -> None:
    assert " ".join(split_mrkdwn(HUGE)).split() == HUGE.split()


def test_split_rejects_a_tiny_limit() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        split_mrkdwn("text", 10)


# -- render_thinking, render_text -----------------------------------------------------------------


def test_thinking_is_one_context_block() -> None:
    message = render_thinking()
    assert_within_limits(message)
    assert message.blocks == [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": messages.SLACK_THINKING}]}
    ]


def test_text_is_one_escaped_section() -> None:
    message = render_text("Use <this> & that")
    assert_within_limits(message)
    assert message.blocks == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Use &lt;this&gt; &amp; that"}}
    ]


def test_text_of_100_kb_is_cut_to_one_section() -> None:
    message = render_text(HUGE)
    assert_within_limits(message)
    assert len(message.blocks) == 1


def test_text_without_any_text_is_refused() -> None:
    with pytest.raises(ValueError, match="needs some text"):
        render_text("  ")


def test_file_notice_says_files_are_not_read() -> None:
    message = render_file_notice()
    assert_within_limits(message)
    assert sections(message) == [messages.SLACK_FILES_NOT_READ]


def test_message_as_dict_has_text_and_blocks() -> None:
    assert render_text("hi").as_dict() == {
        "text": "hi",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
    }


# -- render_outcome: answered -------------------------------------------------------------------


def test_answer_is_converted_to_mrkdwn() -> None:
    message = render_outcome(outcome(answer=answer("**Void** it & go [1].")), escalation=False)
    assert_within_limits(message)
    assert sections(message) == ["*Void* it &amp; go [1]."]


def test_sources_link_escaped_titles_to_urls() -> None:
    message = render_outcome(outcome(answer=answer("Void it [1].", GUIDE)), escalation=False)
    assert_within_limits(message)
    assert contexts(message) == [
        "*Sources:*\n[1] <https://docs.x.com/void?a=1&amp;b=2|Voiding &amp; reversing>"
    ]


def test_source_without_url_shows_its_title_and_id_in_code() -> None:
    message = render_outcome(outcome(answer=answer("See [1].", LOCAL)), escalation=False)
    assert_within_limits(message)
    assert contexts(message) == ["*Sources:*\n[1] Ops notes `notes/ops.md`"]


def test_notes_are_shown_above_the_answer() -> None:
    note = translate("en", messages.QUESTION_TRUNCATED, limit=4000)
    message = render_outcome(outcome(notes=(note,)), escalation=False)
    assert_within_limits(message)
    assert message.blocks[0] == {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": "Your message was long, so I read only its first 4,000 characters.",
            }
        ],
    }


def test_answer_has_feedback_buttons_for_its_question() -> None:
    message = render_outcome(outcome(), escalation=True)
    assert_within_limits(message)
    assert message.blocks[-1] == {
        "type": "actions",
        "block_id": "feedback",
        "elements": [
            {
                "type": "button",
                "action_id": "feedback_up",
                "text": {"type": "plain_text", "text": "👍 Helpful", "emoji": True},
                "value": "7",
            },
            {
                "type": "button",
                "action_id": "feedback_down",
                "text": {"type": "plain_text", "text": "👎 Not helpful", "emoji": True},
                "value": "7",
            },
        ],
    }


def test_answer_without_a_question_id_has_no_buttons() -> None:
    message = render_outcome(outcome(question_id=None), escalation=True, share=True)
    assert_within_limits(message)
    assert actions(message) == []


def test_answer_without_feedback_has_no_vote_buttons() -> None:
    message = render_outcome(outcome(), escalation=False, feedback=False)
    assert_within_limits(message)
    assert actions(message) == []


def test_shared_command_answer_has_a_primary_post_to_channel_button() -> None:
    message = render_outcome(outcome(), escalation=False, feedback=False, share=True)
    assert_within_limits(message)
    assert message.blocks[-1]["elements"] == [
        {
            "type": "button",
            "action_id": "share_answer",
            "text": {"type": "plain_text", "text": "Post to channel", "emoji": True},
            "value": "7",
            "style": "primary",
        }
    ]


def test_answer_offers_no_escalation() -> None:
    message = render_outcome(outcome(), escalation=True)
    assert_within_limits(message)
    assert "escalate" not in actions(message)


def test_answer_fallback_text_is_plain() -> None:
    text = "## Voiding\n\n> - **Void** `POST /v1/void` with [the API](https://x.com) & go [1]"
    message = render_outcome(outcome(answer=answer(text)), escalation=False)
    assert_within_limits(message)
    assert message.text == "Voiding • Void POST /v1/void with the API &amp; go [1]"


def test_answer_fallback_text_is_cut_near_300_characters() -> None:
    message = render_outcome(outcome(answer=answer("word " * 100)), escalation=False)
    assert_within_limits(message)
    assert message.text == "word " * 59 + "word…"


def test_empty_answer_still_has_fallback_text() -> None:
    message = render_outcome(outcome(answer=answer("")), escalation=False)
    assert_within_limits(message)
    assert message.text == messages.SLACK_ANSWER_EMPTY


def test_empty_answer_says_it_is_empty() -> None:
    message = render_outcome(outcome(answer=answer("")), escalation=False)
    assert_within_limits(message)
    assert sections(message) == [messages.SLACK_ANSWER_EMPTY]


# -- render_outcome: huge answers ---------------------------------------------------------------


def test_100_kb_answer_stays_within_limits() -> None:
    assert_within_limits(render_outcome(outcome(answer=answer(HUGE)), escalation=True))


def test_100_kb_answer_is_cut_with_a_notice() -> None:
    message = render_outcome(outcome(answer=answer(HUGE, GUIDE)), escalation=True)
    assert contexts(message)[0] == messages.SLACK_ANSWER_CUT


def test_100_kb_answer_keeps_its_sources_and_buttons() -> None:
    message = render_outcome(outcome(answer=answer(HUGE, GUIDE)), escalation=True, share=True)
    assert_within_limits(message)
    assert [block["type"] for block in message.blocks[-3:]] == ["context", "context", "actions"]


def test_answer_past_what_a_message_can_hold_is_marked_as_cut() -> None:
    message = render_outcome(outcome(answer=answer("---\n" * 50_000 + "end")), escalation=False)
    assert contexts(message) == [messages.SLACK_ANSWER_CUT]


def test_answer_without_spaces_or_newlines_stays_within_limits() -> None:
    assert_within_limits(render_outcome(outcome(answer=answer(NO_BREAKS)), escalation=False))


def test_answer_of_escaped_characters_stays_within_40000_characters() -> None:
    assert_within_limits(render_outcome(outcome(answer=answer("<&> " * 30_000)), escalation=False))


def test_answer_with_200_citations_stays_within_50_blocks() -> None:
    citations = [
        Citation(f"docs/{n}.md", f"Document number {n}", f"https://docs.x.com/{n}", 1.0)
        for n in range(200)
    ]
    message = render_outcome(outcome(answer=answer(HUGE, *citations)), escalation=True)
    assert_within_limits(message)


def test_answer_with_200_citations_lists_the_rest_as_more() -> None:
    citations = [
        Citation(f"docs/{n}.md", "T" * 100, f"https://docs.x.com/{n}", 1.0) for n in range(200)
    ]
    message = render_outcome(outcome(answer=answer("See [1].", *citations)), escalation=False)
    assert contexts(message)[-1].endswith("\n…and 178 more")


def test_citation_with_huge_title_and_url_stays_within_limits() -> None:
    citation = Citation("s" * 10_000, "&" * 10_000, "https://x.com/" + "&" * 10_000, 1.0)
    message = render_outcome(outcome(answer=answer("See [1].", citation)), escalation=False)
    assert_within_limits(message)


def test_huge_notes_stay_within_limits() -> None:
    assert_within_limits(render_outcome(outcome(notes=(HUGE,)), escalation=False))


def test_code_fence_spanning_a_split_is_closed_and_reopened() -> None:
    text = "Run this:\n\n```python\n" + "print('balanced')\n" * 400 + "```"
    message = render_outcome(outcome(answer=answer(text)), escalation=False)
    assert_within_limits(message)
    assert [s[:4] + "…" + s[-4:] for s in sections(message)] == [
        "Run …\n```",
        "```\n…\n```",
        "```\n…\n```",
    ]


# -- render_outcome: not found and other outcomes -----------------------------------------------


def not_found(*suggestions: Citation, **fields: Any) -> QuestionOutcome:
    text = "I couldn't find an answer to that in the knowledge base."
    result = Answer(text=text, answered=False, suggestions=suggestions)
    return outcome("not_found", answer=result, **fields)


def test_not_found_lists_the_closest_documents_as_links() -> None:
    message = render_outcome(not_found(GUIDE, LOCAL), escalation=False)
    assert_within_limits(message)
    assert sections(message) == [
        "I couldn't find an answer to that in the knowledge base.",
        "These documents come closest:\n"
        "• <https://docs.x.com/void?a=1&amp;b=2|Voiding &amp; reversing>\n"
        "• Ops notes `notes/ops.md`",
    ]


def test_not_found_without_suggestions_says_nothing_comes_close() -> None:
    message = render_outcome(not_found(), escalation=False)
    assert_within_limits(message)
    assert sections(message)[-1] == messages.NOT_FOUND_NO_SUGGESTIONS


def test_not_found_offers_a_human_when_escalation_is_on() -> None:
    message = render_outcome(not_found(GUIDE), escalation=True)
    assert_within_limits(message)
    assert message.blocks[-1]["elements"] == [
        {
            "type": "button",
            "action_id": "escalate",
            "text": {"type": "plain_text", "text": "🙋 Ask a human", "emoji": True},
            "value": "7",
        }
    ]


def test_not_found_without_escalation_has_no_buttons() -> None:
    message = render_outcome(not_found(GUIDE), escalation=False)
    assert_within_limits(message)
    assert actions(message) == []


def test_not_found_without_a_question_id_offers_no_human() -> None:
    message = render_outcome(not_found(GUIDE, question_id=None), escalation=True)
    assert_within_limits(message)
    assert actions(message) == []


def test_not_found_fallback_text_is_the_not_found_sentence() -> None:
    message = render_outcome(not_found(GUIDE), escalation=False)
    assert message.text == messages.NOT_FOUND


def test_not_found_with_200_suggestions_stays_within_limits() -> None:
    suggestions = [Citation(f"d/{n}.md", "T" * 150, f"https://x.com/{n}", 1.0) for n in range(200)]
    assert_within_limits(render_outcome(not_found(*suggestions), escalation=True))


def test_rejected_is_its_message_in_one_section_without_buttons() -> None:
    message = render_outcome(
        outcome("rejected", message=messages.EMPTY_QUESTION, question_id=None), escalation=True
    )
    assert_within_limits(message)
    assert message.blocks == [
        {"type": "section", "text": {"type": "mrkdwn", "text": messages.EMPTY_QUESTION}}
    ]


def test_rate_limited_has_no_buttons() -> None:
    notice = messages.RATE_LIMITED["user"].format(wait="45 seconds")
    message = render_outcome(outcome("rate_limited", message=notice), escalation=True)
    assert_within_limits(message)
    assert actions(message) == []


def test_error_offers_a_human_when_escalation_is_on() -> None:
    message = render_outcome(outcome("error", message=messages.ANSWER_FAILED), escalation=True)
    assert_within_limits(message)
    assert actions(message) == ["escalate"]


def test_huge_outcome_message_stays_within_limits() -> None:
    assert_within_limits(render_outcome(outcome("rejected", message=HUGE), escalation=False))


# -- feedback and escalation --------------------------------------------------------------------


def test_helpful_vote_is_thanked() -> None:
    message = render_feedback_ack("up", question_id=7, escalation=True)
    assert_within_limits(message)
    assert sections(message) == [messages.SLACK_FEEDBACK_THANKS]


def test_unhelpful_vote_without_escalation_is_thanked_without_buttons() -> None:
    message = render_feedback_ack("down", question_id=7, escalation=False)
    assert_within_limits(message)
    assert actions(message) == []


def test_unhelpful_vote_offers_a_human_when_escalation_is_on() -> None:
    message = render_feedback_ack("down", question_id=7, escalation=True)
    assert_within_limits(message)
    assert message.blocks[-1]["elements"][0]["value"] == "7"


def test_unhelpful_vote_offer_is_explained() -> None:
    message = render_feedback_ack("down", question_id=7, escalation=True)
    assert sections(message) == [
        "Thanks for telling me; that helps improve the answers. "
        "Would you like a person from the team to look at your question?"
    ]


def test_vote_by_action_id_is_understood() -> None:
    message = render_feedback_ack("feedback_up", question_id=7, escalation=False)
    assert sections(message) == [messages.SLACK_FEEDBACK_THANKS]


def test_unknown_vote_is_refused() -> None:
    with pytest.raises(ValueError, match="'up' or 'down'"):
        render_feedback_ack("sideways", question_id=7, escalation=False)


def escalation(**fields: Any) -> SlackMessage:
    defaults: dict[str, Any] = {
        "question": "How do I void <entry> & why?",
        "answer_text": "**Void** it [1].",
        "asker": "U123",
        "permalink": "https://team.slack.com/archives/C1/p1?thread_ts=1.2&cid=C1",
        "usergroup": "S0123",
    }
    return render_escalation(**(defaults | fields))


def test_escalation_mentions_the_usergroup_and_quotes_the_question() -> None:
    message = escalation()
    assert_within_limits(message)
    assert sections(message)[0] == (
        "<!subteam^S0123> <@U123> would like a person to answer this:\n"
        "> How do I void &lt;entry&gt; &amp; why?"
    )


def test_escalation_without_usergroup_mentions_only_the_asker() -> None:
    message = escalation(usergroup=None)
    assert_within_limits(message)
    assert sections(message)[0].startswith("<@U123> would like")


def test_escalation_shows_the_converted_answer() -> None:
    message = escalation()
    assert sections(message)[1] == "*What I answered:*\n*Void* it [1]."


def test_escalation_links_to_the_conversation() -> None:
    message = escalation()
    assert contexts(message) == [
        "<https://team.slack.com/archives/C1/p1?thread_ts=1.2&amp;cid=C1|Open the conversation>"
    ]


def test_escalation_without_permalink_has_no_link() -> None:
    message = escalation(permalink=None)
    assert_within_limits(message)
    assert contexts(message) == []


def test_escalation_of_huge_question_and_answer_stays_within_limits() -> None:
    message = escalation(question=HUGE, answer_text=HUGE)
    assert_within_limits(message)
    assert len(message.blocks) == 3


def test_escalation_done_names_the_channel() -> None:
    message = render_escalation_done("C0456")
    assert_within_limits(message)
    assert sections(message) == ["I've asked the team in <#C0456>."]


# -- render_shared_answer -----------------------------------------------------------------------


def test_shared_answer_says_who_asked_what() -> None:
    message = render_shared_answer(question="How do I void?", answer=answer(), asker="U123")
    assert_within_limits(message)
    assert contexts(message)[0] == "<@U123> asked: How do I void?"


def test_shared_answer_has_no_buttons_without_a_question_id() -> None:
    message = render_shared_answer(question="q", answer=answer("A [1].", GUIDE), asker="U1")
    assert_within_limits(message)
    assert actions(message) == []


def test_shared_answer_has_feedback_buttons_with_a_question_id() -> None:
    message = render_shared_answer(question="q", answer=answer(), asker="U1", question_id=9)
    assert_within_limits(message)
    assert actions(message) == ["feedback_up", "feedback_down"]


def test_huge_shared_answer_stays_within_limits() -> None:
    citations = [Citation(f"d/{n}.md", "T" * 150, f"https://x.com/{n}", 1.0) for n in range(200)]
    message = render_shared_answer(
        question=HUGE, answer=answer(HUGE, *citations), asker="U1", question_id=9
    )
    assert_within_limits(message)


# -- render_home --------------------------------------------------------------------------------


def home(**fields: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "documents": 24,
        "chunks": 310,
        "last_indexed_at": WHEN,
        "sources": [
            ("guides/void.md", "Voiding", "https://x.com/void"),
            ("notes.md", "Notes", None),
        ],
        "more_sources": 22,
        "command": "/ledger",
        "recent": [("How do I void?", "answered", WHEN)],
    }
    return render_home(**(defaults | fields))


def home_sections(view: dict[str, Any]) -> list[str]:
    return [block["text"]["text"] for block in view["blocks"] if block["type"] == "section"]


def test_home_is_a_home_view() -> None:
    view = home()
    assert_blocks_within_limits(view["blocks"], max_blocks=100)
    assert view["type"] == "home"


def test_home_says_what_the_bot_knows() -> None:
    assert home_sections(home())[1] == (
        f"*What I know*\n24 documents, 310 passages, last indexed {WHEN_TOKEN}."
    )


def test_home_before_indexing_says_not_indexed_yet() -> None:
    view = home(documents=1, chunks=0, last_indexed_at=None)
    assert home_sections(view)[1] == "*What I know*\n1 document, 0 passages, not indexed yet."


def test_home_lists_the_documents_and_how_many_more() -> None:
    assert home_sections(home())[2] == (
        "*Documents*\n• <https://x.com/void|Voiding>\n• Notes `notes.md`\n…and 22 more"
    )


def test_home_shows_at_most_20_documents() -> None:
    sources = [(f"d/{n}.md", f"Doc {n}", None) for n in range(30)]
    listed = home_sections(home(sources=sources, more_sources=0))[2]
    assert listed.count("\n• ") == 20


def test_home_counts_documents_past_the_20_shown_as_more() -> None:
    sources = [(f"d/{n}.md", f"Doc {n}", None) for n in range(30)]
    listed = home_sections(home(sources=sources, more_sources=5))[2]
    assert listed.endswith("\n…and 15 more")


def test_home_explains_the_slash_command() -> None:
    assert "• Type `/ledger` and your question anywhere" in home_sections(home())[3]


def test_home_lists_recent_questions_with_outcome_and_date() -> None:
    assert home_sections(home())[4] == (
        f"*Your recent questions*\n• How do I void? — ✅ answered · {WHEN_TOKEN}"
    )


def test_home_without_recent_questions_says_so() -> None:
    assert home_sections(home(recent=[]))[4] == (
        "*Your recent questions*\nYou haven't asked me anything yet."
    )


def test_home_with_naive_dates_treats_them_as_utc() -> None:
    naive = datetime(2026, 11, 26, 14, 0)
    assert WHEN_TOKEN in home_sections(home(last_indexed_at=naive))[1]


def test_home_with_huge_inputs_stays_within_100_blocks() -> None:
    view = home(
        documents=10**9,
        sources=[("s" * 5000, "&" * 5000, "https://x.com/" + "a" * 5000) for _ in range(500)],
        more_sources=10**9,
        command="/" + "c" * 5000,
        recent=[(HUGE, "answered", WHEN) for _ in range(500)],
    )
    assert_blocks_within_limits(view["blocks"], max_blocks=100)


# -- the language of the bot's own texts --------------------------------------------------------


def button_texts(message: SlackMessage) -> list[str]:
    return [
        element["text"]["text"]
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_thinking_is_shown_in_the_given_language() -> None:
    assert render_thinking(language="ja").text == "⏳ ナレッジベースを検索しています…"


def test_partial_answer_says_it_is_still_writing_in_the_given_language() -> None:
    message = render_partial("Void it", language="fr")
    assert contexts(message) == ["✍️ Rédaction en cours…"]


def test_answer_buttons_and_sources_heading_are_in_the_given_language() -> None:
    message = render_outcome(
        outcome(answer=answer("Void it [1].", GUIDE)), escalation=True, share=True, language="de"
    )
    assert_within_limits(message)
    assert button_texts(message) == ["👍 Hilfreich", "👎 Nicht hilfreich", "Im Channel posten"]
    assert contexts(message)[0].startswith("*Quellen:*\n[1] ")
    assert sections(message) == ["Void it [1]."]


def test_not_found_is_said_in_the_given_language() -> None:
    message = render_outcome(
        outcome("not_found", answer=Answer(text="-", answered=False, suggestions=(LOCAL,))),
        escalation=True,
        language="es",
    )
    assert message.text == "No encontré una respuesta a eso en la base de conocimiento."
    assert sections(message)[1] == (
        "Estos documentos son los que más se acercan:\n• Ops notes `notes/ops.md`"
    )
    assert button_texts(message) == ["🙋 Preguntar a una persona"]


def test_outcome_message_without_text_falls_back_to_an_apology_in_the_given_language() -> None:
    message = render_outcome(outcome("error", message=" "), escalation=False, language="fr")
    assert sections(message) == [
        "Désolé, un problème est survenu pendant que je répondais. "
        "L’erreur a été enregistrée\u00a0; réessayez dans un instant."
    ]


def test_feedback_thanks_are_in_the_given_language() -> None:
    message = render_feedback_ack("up", question_id=7, escalation=False, language="es")
    assert sections(message) == ["¡Gracias por tu opinión, me alegra haber ayudado!"]


def test_escalation_and_its_confirmation_are_in_the_given_languages() -> None:
    request = escalation(language="de")
    done = render_escalation_done("C0ONCALL", language="ja")
    assert "möchte hierauf eine Antwort von einem Menschen:" in sections(request)[0]
    assert done.text == "<#C0ONCALL> でチームに確認を依頼しました。"


def test_shared_answer_says_who_asked_in_the_given_language() -> None:
    message = render_shared_answer(
        question="¿Cómo anulo?", answer=answer(), asker="U1", language="es"
    )
    assert contexts(message)[0] == "<@U1> preguntó: ¿Cómo anulo?"


def test_home_is_shown_in_the_given_language() -> None:
    shown = home_sections(home(language="es"))
    assert shown[1] == (
        "*Lo que sé*\n24 documentos, 310 fragmentos; última indexación: "
        "<!date^1795701600^{date_short_pretty} a las {time}|26/11/2026 14:00 UTC>."
    )
    assert shown[2].endswith("\n…y 22 más")
    assert "• Escribe `/ledger` y tu pregunta en cualquier sitio" in shown[3]
    assert shown[4].startswith("*Tus preguntas recientes*\n• How do I void? — ✅ respondida · ")


def test_home_counts_in_the_plural_forms_of_the_given_language() -> None:
    view = home(documents=1, chunks=1_000_000, last_indexed_at=None, language="fr")
    assert home_sections(view)[1] == (
        "*Ce que je sais*\n1 document, 1\u202f000\u202f000 de passages\u00a0; pas encore indexé."
    )
