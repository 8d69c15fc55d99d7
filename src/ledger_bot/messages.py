"""Every text Ledger Bot says to a person, in one place so it can be translated."""

from __future__ import annotations

ANSWER_INTRO = "Here is what the knowledge base says:"
QUOTE_SOURCE = "from {location} [{number}]"
NOT_FOUND = "I couldn't find an answer to that in the knowledge base."
NOT_FOUND_SUGGESTIONS = "These documents come closest:"
NOT_FOUND_NO_SUGGESTIONS = (
    "Nothing in it comes close; maybe the question uses other words than the docs?"
)
EMPTY_QUESTION = "Please ask a question: the message had no text I could search for."
QUESTION_TRUNCATED = "Your message was long, so I read only its first {limit:,} characters."
SOURCES_HEADING = "Sources:"
