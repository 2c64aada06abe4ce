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
