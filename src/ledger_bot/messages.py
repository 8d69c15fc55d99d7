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
RATE_LIMITED = {
    "user": "You're asking faster than I can keep up with. Please try again in {wait}.",
    "channel": "This channel is asking a lot right now. Please try again in {wait}.",
    "global": "I'm answering a lot of questions right now. Please try again in {wait}.",
    "daily": "I've reached today's question budget. Please try again in {wait}.",
}
ANSWER_FAILED = (
    "Sorry, something went wrong while I was answering. The error has been logged; "
    "please try again in a moment."
)
SHUTTING_DOWN = "I'm restarting right now. Please ask again in a minute."


def format_wait(seconds: float) -> str:
    """A short, friendly duration: "45 seconds", "3 minutes", "2 hours"."""
    if seconds < 90:
        value, unit = max(1, round(seconds)), "second"
    elif seconds < 90 * 60:
        value, unit = round(seconds / 60), "minute"
    else:
        value, unit = round(seconds / 3600), "hour"
    return f"{value} {unit}{'' if value == 1 else 's'}"
