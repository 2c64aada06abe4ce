from __future__ import annotations

from faq.text import TypoCorrector, chinese_tokens, detect_language, english_tokens, stem


def test_language_detection():
    assert detect_language("How do I return this?") == "en"
    assert detect_language("RTX 4090 有货吗") == "zh"
    assert detect_language("") == "en"


def test_english_tokens_drop_stopwords_and_join_inflections():
    assert english_tokens("How do I return my orders?") == ["return", "order"]
    assert stem("returning") == stem("returns") == "return"
    assert stem("deliveries") == "delivery"


def test_chinese_tokens_have_words_bigrams_and_latin():
    tokens = chinese_tokens("可以用PayPal付款吗")
    assert "付款" in tokens and "paypal" in tokens
    assert "#付款" in tokens  # character bigram, kept distinct from the word
    assert "@款" in tokens and "@吗" not in tokens  # single characters, minus function words
    assert "吗" not in tokens and "可以" not in tokens


def test_typo_corrector_fixes_one_edit_and_leaves_unknown_words():
    corrector = TypoCorrector({"return", "shipping", "refund"}, {"return": 5, "shipping": 3})
    assert corrector.correct("retrun") == "return"  # transposition
    assert corrector.correct("shiping") == "shipping"  # deletion
    assert corrector.correct("costco") == "costco"  # nothing close: stays unknown
    assert corrector.correct("ret") == "ret"  # too short to guess


def test_spelling_of_the_text_the_encoder_sees():
    corrector = TypoCorrector.for_texts(
        ["How do I return an item?", "Wall mount for a TV", "Shipping and warranty"]
    )
    assert corrector.correct_text("how to retrun a product") == "how to return a product"
    assert corrector.correct_text("whats the warrenty on shiping") == "whats the warranty on shipping"
    assert corrector.correct_text("what amount") == "what amount"  # never "mount": first letters differ


def test_synonym_groups_join_wordings_without_a_shared_character():
    from faq.text import Synonyms

    groups = Synonyms({"运费": ("运费", "邮费", "快递费"), "退货": ("退货",), "退": ("退",)})
    fee = ["~运费"] * Synonyms.WEIGHT
    assert groups.tokens("邮费多少") == fee and groups.tokens("快递费怎么算") == fee
    assert groups.tokens("退货") == ["~退货"] * Synonyms.WEIGHT  # longest term first, no overlap
    assert groups.tokens("今天天气") == []
    assert set(fee) <= set(chinese_tokens("邮费多少", groups)) and "~运费" not in chinese_tokens("邮费多少")
