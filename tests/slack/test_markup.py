from __future__ import annotations

from ledger_bot.slack import markup
from ledger_bot.slack.markup import (
    escape_mrkdwn,
    markdown_to_mrkdwn,
    mrkdwn_link,
    normalize_question,
    plain_to_mrkdwn,
)

# -- escape_mrkdwn ----------------------------------------------------------------------------


def test_escape_replaces_ampersand_and_angle_brackets() -> None:
    assert escape_mrkdwn("a & b <c> d") == "a &amp; b &lt;c&gt; d"


def test_escape_leaves_other_characters_alone() -> None:
    assert escape_mrkdwn("*bold* _it_ ~s~ `code` \"q\" 'a' | #") == (
        "*bold* _it_ ~s~ `code` \"q\" 'a' | #"
    )


def test_escape_of_an_entity_escapes_its_ampersand() -> None:
    assert escape_mrkdwn("&amp;") == "&amp;amp;"


# -- plain_to_mrkdwn ----------------------------------------------------------------------------


def test_plain_text_is_escaped() -> None:
    assert plain_to_mrkdwn("a < b & c") == "a &lt; b &amp; c"


def test_plain_text_backtick_runs_cannot_open_a_code_block() -> None:
    assert plain_to_mrkdwn("```") == "`\u200b`\u200b`"


# -- mrkdwn_link ------------------------------------------------------------------------------


def test_link_escapes_the_ampersand_of_its_url() -> None:
    assert mrkdwn_link("https://x.com/?a=1&b=2", "Docs") == "<https://x.com/?a=1&amp;b=2|Docs>"


def test_link_percent_encodes_a_bar_in_its_url() -> None:
    assert mrkdwn_link("https://x.com/a|b", "Docs") == "<https://x.com/a%7Cb|Docs>"


def test_link_label_shows_a_bar_as_a_broken_bar() -> None:
    assert mrkdwn_link("https://x.com", "A | B") == "<https://x.com|A ¦ B>"


def test_link_label_is_escaped() -> None:
    assert mrkdwn_link("https://x.com", "a > b & c") == "<https://x.com|a &gt; b &amp; c>"


def test_link_without_label_is_the_bare_url() -> None:
    assert mrkdwn_link("https://x.com") == "<https://x.com>"


# -- markdown_to_mrkdwn: inline ---------------------------------------------------------------


def test_double_star_bold_becomes_single_star() -> None:
    assert markdown_to_mrkdwn("a **bold** word") == "a *bold* word"


def test_double_underscore_bold_becomes_single_star() -> None:
    assert markdown_to_mrkdwn("a __bold__ word") == "a *bold* word"


def test_star_italic_becomes_underscore() -> None:
    assert markdown_to_mrkdwn("an *italic* word") == "an _italic_ word"


def test_underscore_italic_stays() -> None:
    assert markdown_to_mrkdwn("an _italic_ word") == "an _italic_ word"


def test_bold_italic_becomes_bold_around_italic() -> None:
    assert markdown_to_mrkdwn("***both***") == "*_both_*"


def test_double_tilde_strikethrough_becomes_single_tilde() -> None:
    assert markdown_to_mrkdwn("~~gone~~") == "~gone~"


def test_spaced_stars_are_not_emphasis() -> None:
    assert markdown_to_mrkdwn("2 * 3 * 4") == "2 * 3 * 4"


def test_snake_case_is_left_alone() -> None:
    assert markdown_to_mrkdwn("set max_retry_count") == "set max_retry_count"


def test_line_full_of_unpaired_stars_is_left_as_it_is() -> None:
    assert markdown_to_mrkdwn("*a " * 30_000) == "*a " * 30_000


def test_star_before_a_space_does_not_close_emphasis() -> None:
    assert markdown_to_mrkdwn("*a *b*") == "*a _b_"


def test_triple_backtick_code_span_becomes_single_backtick_code() -> None:
    assert markdown_to_mrkdwn("run ```ls -l``` now") == "run `ls -l` now"


def test_stray_triple_backticks_are_broken_up() -> None:
    assert markdown_to_mrkdwn("a ```b") == "a `\u200b`\u200b`b"


def test_escaped_backtick_next_to_backticks_opens_no_code_block() -> None:
    assert markdown_to_mrkdwn("\\```b") == "`\u200b`\u200b`b"


def test_link_becomes_slack_link() -> None:
    assert markdown_to_mrkdwn("see [the guide](https://x.com/guide)") == (
        "see <https://x.com/guide|the guide>"
    )


def test_link_label_loses_its_markdown() -> None:
    assert markdown_to_mrkdwn("[**the** `guide`](https://x.com)") == "<https://x.com|the guide>"


def test_link_url_with_parentheses_is_kept_whole() -> None:
    assert markdown_to_mrkdwn("[wiki](https://en.wikipedia.org/wiki/Ledger_(book))") == (
        "<https://en.wikipedia.org/wiki/Ledger_(book)|wiki>"
    )


def test_link_label_bar_and_angle_bracket_are_made_safe() -> None:
    assert markdown_to_mrkdwn("[a | b > c](https://x.com)") == "<https://x.com|a ¦ b &gt; c>"


def test_relative_link_keeps_only_its_text() -> None:
    assert markdown_to_mrkdwn("see [setup](setup.md)") == "see setup"


def test_autolink_becomes_slack_link() -> None:
    assert markdown_to_mrkdwn("at <https://x.com/a?b=1&c=2>") == "at <https://x.com/a?b=1&amp;c=2>"


def test_bare_url_is_escaped_and_not_formatted() -> None:
    assert (
        markdown_to_mrkdwn("https://x.com/a__b__c?d=1&e=2") == "https://x.com/a__b__c?d=1&amp;e=2"
    )


def test_numbered_reference_stays() -> None:
    assert markdown_to_mrkdwn("voided instead [1] [2]") == "voided instead [1] [2]"


def test_inline_code_is_escaped() -> None:
    assert markdown_to_mrkdwn("`a < b && c`") == "`a &lt; b &amp;&amp; c`"


def test_inline_code_keeps_its_stars() -> None:
    assert markdown_to_mrkdwn("`**kwargs`") == "`**kwargs`"


def test_link_inside_inline_code_is_not_converted() -> None:
    assert markdown_to_mrkdwn("`[x](https://x.com)`") == "`[x](https://x.com)`"


def test_backslash_escaped_stars_stay_literal() -> None:
    assert markdown_to_mrkdwn(r"\*not italic\*") == "*not italic*"


def test_text_is_escaped() -> None:
    assert markdown_to_mrkdwn("Profit & loss <draft>") == "Profit &amp; loss &lt;draft&gt;"


def test_slack_markup_in_the_answer_is_escaped() -> None:
    assert markdown_to_mrkdwn("<!channel> and <@U123>") == "&lt;!channel&gt; and &lt;@U123&gt;"


# -- markdown_to_mrkdwn: blocks ---------------------------------------------------------------


def test_heading_becomes_bold_line() -> None:
    assert markdown_to_mrkdwn("## Void a pending entry") == "*Void a pending entry*"


def test_heading_with_bold_is_bold_once() -> None:
    assert markdown_to_mrkdwn("# The **only** way") == "*The only way*"


def test_heading_closing_hashes_are_dropped() -> None:
    assert markdown_to_mrkdwn("### Setup ###") == "*Setup*"


def test_hashtag_is_not_a_heading() -> None:
    assert markdown_to_mrkdwn("#general") == "#general"


def test_dash_bullet_becomes_dot() -> None:
    assert markdown_to_mrkdwn("- one\n- two") == "• one\n• two"


def test_star_bullet_becomes_dot() -> None:
    assert markdown_to_mrkdwn("* one") == "• one"


def test_nested_bullet_keeps_its_indentation() -> None:
    assert markdown_to_mrkdwn("- one\n  - two") == "• one\n  • two"


def test_bullet_text_is_converted() -> None:
    assert markdown_to_mrkdwn("- **Step** one") == "• *Step* one"


def test_numbered_list_stays() -> None:
    assert markdown_to_mrkdwn("1. first\n2. second") == "1. first\n2. second"


def test_horizontal_rule_becomes_blank_line() -> None:
    assert markdown_to_mrkdwn("above\n---\nbelow") == "above\n\nbelow"


def test_blockquote_keeps_its_marker() -> None:
    assert markdown_to_mrkdwn("> quoted & kept") == "> quoted &amp; kept"


def test_nested_blockquote_becomes_one_level() -> None:
    assert markdown_to_mrkdwn("> > deep") == "> deep"


def test_quoted_bullet_is_converted() -> None:
    assert markdown_to_mrkdwn("> - **Reversing.** Void it.") == "> • *Reversing.* Void it."


def test_a_line_converted_again_comes_from_the_cache_unchanged() -> None:
    markup._cached_line.cache_clear()
    first = markdown_to_mrkdwn("> **Void** it & [1]\n> **Void** it & [1]")
    again = markdown_to_mrkdwn("> **Void** it & [1]")
    assert (first, again) == (
        "> *Void* it &amp; [1]\n> *Void* it &amp; [1]",
        "> *Void* it &amp; [1]",
    )
    assert markup._cached_line.cache_info().hits == 2


def test_a_line_longer_than_the_cache_takes_is_converted_all_the_same() -> None:
    markup._cached_line.cache_clear()
    line = "**Void** it. " * 100  # 1,300 characters
    assert markdown_to_mrkdwn(line) == "*Void* it. " * 100
    assert markup._cached_line.cache_info().currsize == 0


def test_fence_loses_its_language() -> None:
    assert markdown_to_mrkdwn("```python\nx = 1\n```") == "```\nx = 1\n```"


def test_fenced_code_is_escaped_but_not_formatted() -> None:
    assert markdown_to_mrkdwn("```\nif a < b: **x** # [1](https://x.com)\n```") == (
        "```\nif a &lt; b: **x** # [1](https://x.com)\n```"
    )


def test_fenced_code_keeps_lines_that_look_like_markdown() -> None:
    assert markdown_to_mrkdwn("```\n# comment\n- item\n> prompt\n```") == (
        "```\n# comment\n- item\n&gt; prompt\n```"
    )


def test_bullet_can_open_a_code_fence() -> None:
    assert markdown_to_mrkdwn("- ```sh\n  ls\n  ```\n- next") == "• ```\n  ls\n```\n• next"


def test_triple_backticks_inside_fenced_code_are_broken_up() -> None:
    assert markdown_to_mrkdwn("````\n```\n````") == "```\n`\u200b`\u200b`\n```"


def test_tilde_fence_becomes_backtick_fence() -> None:
    assert markdown_to_mrkdwn("~~~sh\nls\n~~~") == "```\nls\n```"


def test_unclosed_fence_is_closed() -> None:
    assert markdown_to_mrkdwn("```\nx = 1") == "```\nx = 1\n```"


def test_quoted_fence_stays_quoted() -> None:
    assert markdown_to_mrkdwn('> ```sh\n> curl -d "a&b"\n> ```') == (
        '> ```\n> curl -d "a&amp;b"\n> ```'
    )


def test_quoted_fence_closes_when_the_quote_ends() -> None:
    assert markdown_to_mrkdwn("> ```\n> x\nafter") == "> ```\n> x\n> ```\nafter"


def test_extractive_answer_converts_as_slack_expects() -> None:
    answer = (
        "Here is what the knowledge base says:\n\n"
        "> - **Reversing a pending entry.** Pending entries are not reversed; they are voided "
        "with `POST /v1/journal-entries/{id}/void`.\n"
        "— from Reversing a posted journal entry › Common mistakes [1]"
    )
    assert markdown_to_mrkdwn(answer) == (
        "Here is what the knowledge base says:\n\n"
        "> • *Reversing a pending entry.* Pending entries are not reversed; they are voided "
        "with `POST /v1/journal-entries/{id}/void`.\n"
        "— from Reversing a posted journal entry › Common mistakes [1]"
    )


# -- normalize_question -----------------------------------------------------------------------


def test_bot_mention_is_removed() -> None:
    assert normalize_question("<@UBOT> how do I void?", "UBOT") == "how do I void?"


def test_bot_mention_in_the_middle_leaves_one_space() -> None:
    assert normalize_question("so <@UBOT> how?", "UBOT") == "so how?"


def test_other_mention_becomes_at_id() -> None:
    assert normalize_question("ask <@U123>", "UBOT") == "ask @U123"


def test_mention_without_bot_id_is_kept() -> None:
    assert normalize_question("<@UBOT> hi") == "@UBOT hi"


def test_labelled_mention_becomes_at_name() -> None:
    assert normalize_question("ask <@U123|bob>") == "ask @bob"


def test_labelled_channel_becomes_hash_name() -> None:
    assert normalize_question("in <#C123|general>") == "in #general"


def test_unlabelled_channel_becomes_hash_id() -> None:
    assert normalize_question("in <#C123>") == "in #C123"


def test_labelled_link_becomes_its_label() -> None:
    assert normalize_question("see <http://x.com|the docs>") == "see the docs"


def test_bare_link_becomes_its_url() -> None:
    assert normalize_question("see <http://x.com/a?b=1&amp;c=2>") == "see http://x.com/a?b=1&c=2"


def test_mailto_link_becomes_the_address() -> None:
    assert normalize_question("mail <mailto:a@b.c|a@b.c>") == "mail a@b.c"


def test_broadcasts_are_removed() -> None:
    assert normalize_question("<!here> <!channel> hi <!everyone> there") == "hi there"


def test_usergroup_becomes_its_handle() -> None:
    assert normalize_question("ask <!subteam^S123|@oncall>") == "ask @oncall"


def test_date_becomes_its_fallback_text() -> None:
    assert normalize_question("since <!date^1392734382^{date}|Feb 18>") == "since Feb 18"


def test_slack_escapes_are_undone() -> None:
    assert normalize_question("a &lt;b&gt; &amp;&amp; c") == "a <b> && c"


def test_escaped_entity_is_unescaped_once() -> None:
    assert normalize_question("&amp;lt;") == "&lt;"


def test_removals_collapse_only_the_spaces_around_them() -> None:
    assert normalize_question("  <@UBOT>  <!here>   what is  it", "UBOT") == "what is  it"


def test_removal_at_a_line_start_leaves_no_leading_space() -> None:
    assert normalize_question("first\n<!here> second") == "first\nsecond"
