"""bot/intent_classifier.py: trains, ranks with calibrated confidences, survives a save and load, and
refuses a model file that would construct anything but scikit-learn, NumPy or SciPy objects."""

from __future__ import annotations

import pytest

pytest.importorskip("rasa")

import skops.io as sio  # noqa: E402
from rasa.engine.graph import ExecutionContext, GraphSchema  # noqa: E402
from rasa.engine.storage.local_model_storage import LocalModelStorage  # noqa: E402
from rasa.engine.storage.resource import Resource  # noqa: E402
from rasa.nlu.tokenizers.tokenizer import Token  # noqa: E402
from rasa.shared.nlu.constants import TEXT, TEXT_TOKENS  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402
from rasa.shared.nlu.training_data.training_data import TrainingData  # noqa: E402

from bot.intent_classifier import (  # noqa: E402
    LinearIntentClassifier,
    UntrustedModelError,
    load_model,
    predict_proba,
    rows,
    words_of,
)

EXAMPLES = {
    "greet": ["hello there", "hi", "hey bot", "good morning", "你好", "早上好", "嗨", "hello again"],
    "order_status": [
        "where is my order",
        "track order 12",
        "has my parcel shipped",
        "my order status",
        "我的订单到哪了",
        "查一下订单",
        "订单发货了吗",
        "where's my package",
    ],
    "search_products": [
        "show me graphics cards",
        "i need a cpu",
        "find an ssd under 100",
        "any 4k monitors",
        "我想买显卡",
        "找一个固态硬盘",
        "有没有机械键盘",
        "looking for ram",
    ],
}


LOOKUPS = [
    {"name": "brand", "elements": ["Western Digital", "Seasonic", "西部数据"]},
    {"name": "category", "elements": "graphics card\nSSD\n"},
]


def message(text: str, intent: str | None = None) -> Message:
    words = text.split() if " " in text else [text]
    tokens, offset = [], 0
    for word in words:
        start = text.index(word, offset)
        tokens.append(Token(word, start))
        offset = start + len(word)
    data = {TEXT: text, TEXT_TOKENS: tokens}
    if intent:
        data["intent"] = intent
    return Message(data=data)


@pytest.fixture
def storage(tmp_path):
    return LocalModelStorage(tmp_path)


def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test")


def trained(storage, resource: Resource) -> LinearIntentClassifier:
    component = LinearIntentClassifier.create({}, storage, resource, context())
    data = TrainingData(
        [message(text, intent) for intent, texts in EXAMPLES.items() for text in texts], lookup_tables=LOOKUPS
    )
    component.train(data)
    return component


def test_ranks_intents_with_probabilities(storage):
    component = trained(storage, Resource("intents"))
    [parsed] = component.process([message("where is my parcel")])
    assert parsed.get("intent")["name"] == "order_status"
    ranking = parsed.get("intent_ranking")
    assert [r["name"] for r in ranking][0] == "order_status"
    assert {r["name"] for r in ranking} == set(EXAMPLES)
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0, abs=1e-6)
    assert all(a["confidence"] >= b["confidence"] for a, b in zip(ranking, ranking[1:]))


def test_fast_path_gives_the_pipelines_probabilities(storage):
    component = trained(storage, Resource("intents"))
    batch = rows([message(t) for t in ["where is my parcel", "你好", "", "显卡 gpu 4k"]])
    assert predict_proba(component.model, batch) == pytest.approx(component.model.predict_proba(batch))


def test_survives_save_and_load(storage):
    resource = Resource("intents")
    original = trained(storage, resource)
    loaded = LinearIntentClassifier.load({}, storage, resource, context())
    texts = ["我想买个显卡", "hello", "订单呢"]
    before = [m.get("intent") for m in original.process([message(t) for t in texts])]
    after = [m.get("intent") for m in loaded.process([message(t) for t in texts])]
    assert before == after
    assert before[0]["name"] == "search_products"


def test_lookup_entries_add_a_class_word(storage):
    resource = Resource("intents")
    trained(storage, resource)
    loaded = LinearIntentClassifier.load({}, storage, resource, context())
    assert loaded.lookups["brand"] >= {"western digital", "seasonic", "西部数据"}
    assert loaded.lookups["category"] == {"graphics card", "ssd"}
    words = words_of(message("is the Western Digital ssd fast"), loaded.lookups).split("\x1f")
    assert words[:6] == ["is", "the", "western", "digital", "ssd", "fast"]
    assert sorted(words[6:]) == ["__lookup_brand__", "__lookup_category__"]
    assert words_of(message("西部数据"), loaded.lookups).split("\x1f") == ["西部数据", "__lookup_brand__"]
    assert words_of(message("hello"), loaded.lookups) == "hello"


def test_untrained_component_leaves_messages_alone(storage):
    # a model trained without NLU data: nothing was written, loading gives an empty classifier
    component = LinearIntentClassifier.load({}, storage, Resource("never-written"), context())
    [parsed] = component.process([message("hello")])
    assert parsed.get("intent") is None


def test_refuses_a_model_file_with_foreign_types(tmp_path):
    path = tmp_path / "intent_classifier.skops"
    sio.dump({"model": Token("x", 0)}, path)  # a rasa object: not scikit-learn, NumPy or SciPy
    with pytest.raises(UntrustedModelError):
        load_model(path)
