"""Every text Ledger Bot says to a person, in one place so it can be translated.

These English texts are the message ids of the catalogs under ``ledger_bot/locale``
(``python -m ledger_bot.i18n extract`` collects every text of this module); show them through
:mod:`ledger_bot.i18n`, which picks the asker's language. ``{placeholders}`` are filled after
translation; whole numbers given to them are written with the language's digit grouping.
"""

from __future__ import annotations

from typing import NamedTuple


class Plural(NamedTuple):
    """A text with a singular and a plural form; the count picks one (gettext's ngettext)."""

    one: str
    many: str


ANSWER_INTRO = "Here is what the knowledge base says:"
QUOTE_SOURCE = "from {location} [{number}]"
NOT_FOUND = "I couldn't find an answer to that in the knowledge base."
NOT_FOUND_SUGGESTIONS = "These documents come closest:"
NOT_FOUND_NO_SUGGESTIONS = (
    "Nothing in it comes close; maybe the question uses other words than the docs?"
)
EMPTY_QUESTION = "Please ask a question: the message had no text I could search for."
QUESTION_TRUNCATED = "Your message was long, so I read only its first {limit} characters."
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
# One line above an extractive answer given instead of the language model's, by reason.
LLM_FALLBACK_NOTES = {
    "budget": "Today's budget for the language model is spent, so this answer quotes the "
    "documents directly.",
    "circuit_open": "The language model is unavailable right now, so this answer quotes the "
    "documents directly.",
    "first_token_timeout": "The language model was too slow to answer, so this answer quotes "
    "the documents directly.",
    "timeout": "The language model was too slow to answer, so this answer quotes the "
    "documents directly.",
    "rate_limited": "The language model is busy right now, so this answer quotes the "
    "documents directly.",
    "error": "The language model could not answer, so this answer quotes the documents directly.",
}


# How long to wait, in RATE_LIMITED's {wait}: seconds up to 90, minutes up to 90, then hours.
WAIT_SECONDS = Plural("{count} second", "{count} seconds")
WAIT_MINUTES = Plural("{count} minute", "{count} minutes")
WAIT_HOURS = Plural("{count} hour", "{count} hours")


# --- Slack -------------------------------------------------------------------------------------
# What the Slack adapter shows (ledger_bot.slack.blocks). These are plain text: the renderers
# escape them and add Slack's mrkdwn; {placeholders} receive ready-made mentions and links.

SLACK_THINKING = "⏳ Looking through the knowledge base…"
SLACK_WRITING = "✍️ Still writing…"
SLACK_ANSWER_EMPTY = "The knowledge base gave me an empty answer."
SLACK_ANSWER_CUT = "The answer was too long for one Slack message, so it stops here."
SLACK_MORE_ITEMS = "…and {count} more"
SLACK_BUTTON_HELPFUL = "👍 Helpful"
SLACK_BUTTON_NOT_HELPFUL = "👎 Not helpful"
SLACK_BUTTON_ESCALATE = "🙋 Ask a human"
SLACK_BUTTON_SHARE = "Post to channel"
SLACK_FEEDBACK_THANKS = "Thanks for the feedback, glad it helped!"
SLACK_FEEDBACK_THANKS_DOWN = "Thanks for telling me; that helps improve the answers."
SLACK_FEEDBACK_OFFER_HUMAN = "Would you like a person from the team to look at your question?"
SLACK_ESCALATION_REQUEST = "{asker} would like a person to answer this:"
SLACK_ESCALATION_ANSWER = "What I answered:"
SLACK_ESCALATION_THREAD = "Open the conversation"
SLACK_ESCALATION_DONE = "I've asked the team in {channel}."
SLACK_SHARED_ASKED = "{asker} asked: {question}"
SLACK_FILES_NOT_READ = (
    "I can't read attached files yet. Please paste the text you want me to look at into "
    "your message."
)
SLACK_DATE_FORMAT = "{date_short_pretty} at {time}"  # Slack's date tokens; keep the braces
SLACK_DATE_FALLBACK = "%Y-%m-%d %H:%M UTC"  # strftime, shown where Slack cannot format dates
SLACK_HOME_HEADER = "Ledger Bot"
SLACK_HOME_INTRO = (
    "I answer questions from your team's documents, quoting them and linking the sources."
)
SLACK_HOME_KNOWLEDGE_HEADING = "What I know"
SLACK_HOME_DOCUMENTS = Plural("{count} document", "{count} documents")
SLACK_HOME_PASSAGES = Plural("{count} passage", "{count} passages")
SLACK_HOME_INDEXED = "{documents}, {passages}, last indexed {when}."
SLACK_HOME_NOT_INDEXED = "{documents}, {passages}, not indexed yet."
SLACK_HOME_SOURCES_HEADING = "Documents"
SLACK_HOME_NO_SOURCES = "No documents are indexed yet."
SLACK_HOME_HOW_HEADING = "How to ask"
SLACK_HOME_HOW_TO_ASK = (
    "Mention me in a channel I'm in; I answer in a thread.",
    "Send me a direct message.",
    "Type {command} and your question anywhere; only you see the answer.",
    "Ask follow-up questions in the same thread: I read the earlier turns.",
    "Open me in Slack's assistant pane to ask next to any channel.",
)
SLACK_HOME_RECENT_HEADING = "Your recent questions"
SLACK_HOME_NO_RECENT = "You haven't asked me anything yet."
SLACK_OUTCOME_LABELS = {
    "answered": "✅ answered",
    "not_found": "🔍 not found",
    "rejected": "🚫 not accepted",
    "rate_limited": "⏳ rate limited",
    "error": "⚠️ failed",
    "pending": "… in progress",
}

# What the Slack listeners say outside an answer (ledger_bot.slack.listeners and .turns).
SLACK_ASSISTANT_STATUS = "is looking through the knowledge base…"
SLACK_ASSISTANT_GREETING = (
    "Hi! Ask me anything about your team's documents; I'll answer with quotes and links to "
    "the sources, and say so when the documents don't cover it."
)
SLACK_COMMAND_HELP = (
    "Ask me a question after the command, for example: {command} how do I reverse a posted "
    "journal entry? Only you will see the answer."
)
SLACK_CHANNEL_NOT_ALLOWED = (
    "I don't answer in this channel. Send me a direct message, or ask in one of the channels "
    "I'm set up for."
)
SLACK_BUTTON_FAILED = "Sorry, that didn't work. Please try again in a moment."
SLACK_QUESTION_GONE = "I can't find that question any more; it may be too old."
SLACK_ESCALATION_OFF = "No team channel is set up for hand-offs; please ask in your team's channel."
SLACK_ALREADY_ESCALATED = "This question has already been passed to the team."
SLACK_ESCALATION_FAILED = (
    "I couldn't post to the team channel (am I invited there?). Please ask the team directly."
)
SLACK_SHARE_NOT_YOURS = "Only the person who asked can post this answer to the channel."
SLACK_SHARE_FAILED = (
    "I couldn't post in this channel. Invite me first (/invite @Ledger Bot), then try again."
)
