from ledger_bot.terms import analyze, analyze_unique, tokenize


def test_identifiers_split_into_words() -> None:
    assert analyze("exceeds_credits") == ["exceed", "credit", "exceeds_credits"]


def test_stop_words_are_dropped_and_words_stemmed() -> None:
    assert analyze("How do I reverse the posted entries?") == ["revers", "post", "entri"]


def test_accents_are_folded() -> None:
    assert tokenize("Café Überweisung") == ["cafe", "uberweisung"]


def test_unique_terms_keep_first_appearance_order() -> None:
    assert analyze_unique(["ledger entries", "entry ledger locks"]) == ["ledger", "entri", "lock"]


def test_numbers_are_kept() -> None:
    assert analyze("error 409 after 24h") == ["error", "409", "24h"]
