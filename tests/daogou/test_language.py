from daogou.language import conversation_language, detect


def test_detects_chinese_even_with_english_product_names():
    assert detect("300美元以下的AMD处理器") == "zh"
    assert detect("AMD的CPU有货吗") == "zh"


def test_detects_english():
    assert detect("an AMD CPU under $300") == "en"


def test_no_evidence_in_numbers_emoji_and_payloads():
    assert detect("300") is None
    assert detect("👍") is None
    assert detect("/affirm") is None
    assert detect("") is None
    assert detect(None) is None


def test_language_follows_the_latest_message_with_evidence():
    assert conversation_language(["2", "第二个", "hello"]) == "zh"
    assert conversation_language(["hello", "你好"]) == "en"  # the user switched back
    assert conversation_language(["/affirm", "42"]) == "en"  # default
    assert conversation_language(["/affirm"], default="zh") == "zh"


def test_a_bare_name_in_latin_letters_keeps_the_language():
    """A Chinese shopper answering "which store?" with "Walden Galleria" is still speaking Chinese."""
    assert detect("Walden Galleria") is None
    assert detect("RM850x") is None
    assert conversation_language(["Walden Galleria", "在哪家店自提？"]) == "zh"
    assert detect("the RM850x") == "en" and detect("ok") is None
    assert conversation_language(["ok", "好的，帮我下单"]) == "zh"
    assert detect("is this graphics card any good for gaming") == "en"
