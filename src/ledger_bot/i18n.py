"""The bot's own words in the asker's language.

Texts come from :mod:`ledger_bot.messages` (English, the message ids) and the compiled gettext
catalogs ``locale/<code>/LC_MESSAGES/ledger_bot.mo``, read with the standard library only.
:func:`translator` gives a language's :class:`Translator`; :func:`detect_language` guesses the
language of a question when the asker's locale is unknown.

The catalogs are maintained with Babel (a development dependency)::

    python -m ledger_bot.i18n extract   # messages.py -> locale/ledger_bot.pot, merged into each .po
    python -m ledger_bot.i18n compile   # each .po -> its .mo
"""

from __future__ import annotations

import functools
import gettext
import logging
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ledger_bot import messages
from ledger_bot.messages import Plural

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

log = logging.getLogger(__name__)

LANGUAGES = {"en": "English", "es": "Spanish", "de": "German", "fr": "French", "ja": "Japanese"}
"""The languages the bot speaks, by code, with the name a language model is told to answer in."""
SOURCE_LANGUAGE = "en"
_BY_NAME = {name.lower(): code for code, name in LANGUAGES.items()}
DOMAIN = "ledger_bot"
LOCALE_DIR = Path(__file__).with_name("locale")

# Digit grouping of whole numbers: the separator, and the fewest digits of a number's top
# group for it to be grouped at all (CLDR's minimumGroupingDigits: "1234" but "12.345" in es).
_GROUPING = {"en": (",", 1), "es": (".", 2), "de": (".", 1), "fr": ("\u202f", 1), "ja": (",", 1)}


def normalize_locale(value: str | None) -> str | None:
    """The supported language of a locale such as "es-ES", "es_ES", "ES" or "ja"; None when
    the language is not one the bot speaks (or ``value`` is empty)."""
    code = re.split(r"[-_.@]", (value or "").strip().lower(), maxsplit=1)[0]
    return code if code in LANGUAGES else None


def language_code(value: str | None) -> str | None:
    """The code of a supported language given as a code, a locale or an English name
    ("Spanish"); None otherwise."""
    if not value:
        return None
    return _BY_NAME.get(value.strip().lower()) or normalize_locale(value)


class Translator:
    """One language's texts. Calling it, ``tr(messages.X, **fields)``, translates a text of
    :mod:`ledger_bot.messages` and then fills in its placeholders."""

    def __init__(self, code: str, catalog: gettext.NullTranslations) -> None:
        self.code = code
        self._catalog = catalog

    def gettext(self, message: str) -> str:
        """``message`` in this language; unchanged when the catalog does not know it."""
        return self._catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self._catalog.ngettext(singular, plural, count)

    def __call__(self, message: str, **fields: object) -> str:
        """``message`` translated, its ``{placeholders}`` filled with ``fields`` if any given."""
        text = self.gettext(message)
        return self._fill(text, fields) if fields else text

    def plural(self, forms: Plural, count: int, **fields: object) -> str:
        """The form of ``forms`` for ``count``, with ``{count}`` and ``fields`` filled in."""
        return self._fill(self.ngettext(forms.one, forms.many, count), {"count": count, **fields})

    def number(self, value: int) -> str:
        """A whole number with this language's digit grouping: 12,345 / 12.345 / 12 345."""
        separator, minimum = _GROUPING[self.code]
        if abs(value) < 10 ** (2 + minimum):
            return str(value)
        return f"{value:,}".replace(",", separator)

    def _fill(self, text: str, fields: dict[str, object]) -> str:
        numbers = {
            name: self.number(value)
            for name, value in fields.items()
            if isinstance(value, int) and not isinstance(value, bool)
        }
        return text.format(**{**fields, **numbers})


@functools.cache
def translator(code: str) -> Translator:
    """The translator of a supported language code (English: the texts as written)."""
    if code not in LANGUAGES:
        raise ValueError(f"unsupported language {code!r}: use one of {', '.join(LANGUAGES)}")
    if code == SOURCE_LANGUAGE:
        return Translator(code, gettext.NullTranslations())
    try:
        catalog = gettext.translation(DOMAIN, LOCALE_DIR, languages=[code])
    except OSError:
        log.warning("no message catalog for %s under %s; speaking English", code, LOCALE_DIR)
        return Translator(code, gettext.NullTranslations())
    return Translator(code, catalog)


def translate(code: str, message: str, **fields: object) -> str:
    """``message`` in the language ``code``, its ``{placeholders}`` filled with ``fields``."""
    return translator(code)(message, **fields)


def format_wait(seconds: float, code: str = SOURCE_LANGUAGE) -> str:
    """A short, friendly duration: "45 seconds", "3 minutes", "2 hours"."""
    if seconds < 90:
        value, unit = max(1, round(seconds)), messages.WAIT_SECONDS
    elif seconds < 90 * 60:
        value, unit = round(seconds / 60), messages.WAIT_MINUTES
    else:
        value, unit = round(seconds / 3600), messages.WAIT_HOURS
    return translator(code).plural(unit, value)


# -- detecting the language of a question ---------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Frequent short words of questions in each language. A word of two languages counts for both,
# but for a few that would mislead: "a" and "no" count for none; "in", "was", "an", "so" and
# "on" only for English.
_FUNCTION_WORDS = {
    "en": _words(
        "the is are was were be been do does did how what why when where which who whom whose "
        "can could should would will shall may might must i we you it this that these those "
        "to of in on for with my our your and or not there their have has had get from at by "
        "if about any into than then them they he she me us an mean means"
    ),
    "es": _words(
        "el la los las un una unos unas de del que qué en y o por para con sin es son está "
        "están estoy cómo como cuál cuáles cuándo cuánto cuántos dónde quién puedo puede "
        "hay se mi mis lo le al pero más muy este esta esto ese esa ya si también hacer hago "
        "tengo tiene debo hacerlo sobre cuando porque nuestro nuestra significa"
    ),
    "de": _words(
        "der die das den dem des ein eine einen einem einer ist sind ich wir du sie es nicht "
        "wie wo warum wann welche welcher welches wer und oder mit auf für zu von bei nach "
        "wird werden kann können muss müssen soll sollte wenn ob mein meine unser unsere "
        "sich auch noch schon nur über unter aus dass gibt mache machen habe haben kein keine "
        "im am zum zur vom bedeutet heißt"
    ),
    "fr": _words(
        "le la les un une des du de et ou est sont que qui quoi quel quelle quels quelles "
        "comment pourquoi où quand je tu il elle nous vous ne pas pour avec dans sur par au "
        "aux ce cette ces mon ma mes notre nos peut puis faut faire fait être avoir ai "
        "combien lequel laquelle signifie veut dire"
    ),
}


def _languages_of_words(vocabularies: dict[str, frozenset[str]]) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for code, vocabulary in vocabularies.items():
        for word in vocabulary:
            found[word] = (*found.get(word, ()), code)
    return found


_LANGUAGES_OF_WORD = _languages_of_words(_FUNCTION_WORDS)
# Letters that only one of the languages uses (é is French and Spanish, so it counts for neither).
_LETTERS = {
    "es": re.compile("[ñ¿¡áíóú]"),
    "de": re.compile("[äöüß]"),
    "fr": re.compile("[çœèêëàâîïôûù]"),
}
_KANA = re.compile("[\u3040-\u30ff\uff66-\uff9d]")
_KANJI = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")
_LETTER = re.compile(r"[^\W\d_]")
_ELISION = re.compile(r"(?<![\w'’])(?:c|d|j|l|m|n|qu|s|t)['’](?=[aeiouyhéèêàâîôû])")
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`|<[^<>\s][^<>]*>|\b\w+://\S+", re.DOTALL)
_TOKEN = re.compile(r"\S+")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_APOSTROPHE = re.compile(r"['’]")
_IDENTIFIER = re.compile(r"[_/\\.=:()\[\]{}<>#@$%*+|~\d]|[a-z][A-Z]")
DETECT_CHARS = 1000  # the language shows in the first sentences; a pasted log adds nothing
MIN_SCORE = 2  # function words (and distinctive letters) a language needs to be chosen
MIN_LEAD = 2  # how many more than the runner-up
KANA_SHARE = 0.1  # Hiragana and Katakana among the letters of Japanese text
JAPANESE_SHARE = 0.3  # kana and kanji among the letters


def detect_language(text: str) -> str | None:
    """The language ``text`` is written in, of those the bot speaks; None when unsure.

    Japanese is recognised by its script. Otherwise the frequent function words of English,
    Spanish, German and French are counted (code, links and identifiers left out), with a
    point for letters only one of them uses; the best needs at least ``MIN_SCORE`` and a lead
    of ``MIN_LEAD``. Short, mixed or code-only text gives None.
    """
    if not text or not text.strip():
        return None
    prose = _CODE.sub(" ", text[:DETECT_CHARS])
    japanese = _is_japanese(prose)
    if japanese is not None:
        return "ja" if japanese else None
    words = [
        word.lower()
        for token in _TOKEN.findall(prose)
        if not _IDENTIFIER.search(token.strip(".,;:!?¿¡\"'()"))
        for word in _WORD.findall(token)
        if len(word) == 1 or not word.isupper()  # acronyms such as JE or API say nothing
    ]
    scores = dict.fromkeys(_FUNCTION_WORDS, 0)
    for word in words:
        for part in _APOSTROPHE.split(word):
            for code in _LANGUAGES_OF_WORD.get(part, ()):
                scores[code] += 1
    lowered = prose.lower()
    for code, letters in _LETTERS.items():
        scores[code] += letters.search(lowered) is not None
    scores["fr"] += len(_ELISION.findall(" ".join(words)))
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, score), (_, runner_up) = ranked[0], ranked[1]
    if score >= MIN_SCORE and score - runner_up >= MIN_LEAD:
        return best
    return None


def _is_japanese(text: str) -> bool | None:
    """Whether ``text`` is Japanese by its letters; None when it has no kana or kanji at all."""
    kana = len(_KANA.findall(text))
    kanji = len(_KANJI.findall(text))
    if not kana and not kanji:
        return None
    letters = len(_LETTER.findall(text))
    return kana >= KANA_SHARE * letters and kana + kanji >= JAPANESE_SHARE * letters


# -- maintaining the catalogs (python -m ledger_bot.i18n extract | compile) -----------------

MessageId = str | tuple[str, str]


def catalog_messages() -> dict[MessageId, list[str]]:
    """Every text of :mod:`ledger_bot.messages` (a plural as its two forms), each with the
    names of the constants that hold it, in the order of the module."""
    found: dict[MessageId, list[str]] = {}
    for name, value in vars(messages).items():
        if not name.isupper():
            continue
        for text, where in _texts(name, value):
            found.setdefault(text, []).append(where)
    return found


def _texts(name: str, value: object) -> Iterator[tuple[MessageId, str]]:
    if isinstance(value, str):
        yield value, name
    elif isinstance(value, Plural):
        yield (value.one, value.many), name
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            yield from _texts(f"{name}[{index}]", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(f"{name}[{key!r}]", item)


def catalog_languages() -> list[str]:
    """The languages that have a catalog: every one but English."""
    return [code for code in LANGUAGES if code != SOURCE_LANGUAGE]


def po_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(code: str) -> Path:
    return po_path(code).with_suffix(".mo")


def _require_babel() -> None:
    """Babel is a development dependency: the bot itself reads the ``.mo`` files with gettext."""
    try:
        import babel.messages  # noqa: F401
    except ImportError:
        raise SystemExit(
            "the catalog tools need Babel: pip install babel (or pip install -e '.[dev]')"
        ) from None


def build_template() -> Catalog:
    """The catalog template (``.pot``) of every text in :mod:`ledger_bot.messages`."""
    _require_babel()
    from babel.messages.catalog import Catalog

    template = Catalog(
        project="Ledger Bot",
        header_comment=(
            "# The texts of Ledger Bot (src/ledger_bot/messages.py), to translate.\n"
            "# Written by `python -m ledger_bot.i18n extract`: do not edit by hand."
        ),
        fuzzy=False,
    )
    for message, names in catalog_messages().items():
        flags = ["python-brace-format"] if "{" in "".join(message) else []
        template.add(message, auto_comments=names, flags=flags)
    return template


def new_catalog(code: str) -> Catalog:
    """An empty catalog for the language ``code``."""
    _require_babel()
    from babel.messages.catalog import Catalog

    return Catalog(
        locale=code,
        domain=DOMAIN,
        project="Ledger Bot",
        header_comment=(
            f"# {LANGUAGES[code]} texts of Ledger Bot. Translate each msgstr, keeping its\n"
            "# {placeholders} and emoji as they are, then run `python -m ledger_bot.i18n compile`."
        ),
        language_team=LANGUAGES[code],
        fuzzy=False,
    )


def read_catalog(code: str) -> Catalog:
    _require_babel()
    from babel.messages.pofile import read_po

    with po_path(code).open("rb") as file:
        return read_po(file, locale=code, domain=DOMAIN)


def compiled(catalog: Catalog) -> bytes:
    """A catalog compiled to the bytes of its ``.mo`` file (fuzzy entries left out)."""
    _require_babel()
    from io import BytesIO

    from babel.messages.mofile import write_mo

    buffer = BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def extract() -> None:
    """Write the template from messages.py and merge it into every language's ``.po``."""
    _require_babel()
    from babel.messages.pofile import write_po

    template = build_template()
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as file:
        write_po(file, template, omit_header=False, sort_output=False)
    for code in catalog_languages():
        path = po_path(code)
        catalog = read_catalog(code) if path.exists() else new_catalog(code)
        catalog.update(template)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as file:
            write_po(file, catalog, ignore_obsolete=True)
        missing = [m.id for m in catalog if m.id and (m.fuzzy or not _translated(m.string))]
        print(f"{path}: {len(missing)} texts to translate" if missing else f"{path}: complete")


def compile_catalogs() -> None:
    """Compile every language's ``.po`` into its ``.mo``."""
    for code in catalog_languages():
        catalog = read_catalog(code)
        mo_path(code).write_bytes(compiled(catalog))
        missing = [m.id for m in catalog if m.id and (m.fuzzy or not _translated(m.string))]
        shown = f", {len(missing)} left in English (untranslated or fuzzy)" if missing else ""
        print(f"{mo_path(code)}: {len(catalog) - len(missing)} texts{shown}")


def _translated(string: str | Sequence[str] | None) -> bool:
    return all(string) if isinstance(string, tuple | list) else bool(string)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    commands = {"extract": extract, "compile": compile_catalogs}
    if len(args) != 1 or args[0] not in commands:
        print("usage: python -m ledger_bot.i18n extract|compile", file=sys.stderr)
        return 2
    commands[args[0]]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
