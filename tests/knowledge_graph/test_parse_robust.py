"""The search parser on wording shoppers really use: misspelt category words, "a gaming PC",
contractions, budgets in words, k, yuan and Chinese numerals, sort questions. Expected values come
from the data: category ids are looked up by name in the category tree, part types by their English
name in part_types.yaml, amounts from catalogue prices, the rate from the configuration."""

from __future__ import annotations

import glob
import re
import time
from pathlib import Path

import pytest
import yaml

from catalog.reference import load_yaml, part_types
from daogou.config import get_settings
from knowledge_graph.parse import (
    AROUND_CEILING,
    AROUND_FLOOR,
    find_sort,
    match_category,
    parse_search,
    price_from_entity,
)
from knowledge_graph.search import search

ROOT = Path(__file__).resolve().parents[2]


# --- expectations from the data -----------------------------------------------------------------


def part_type_named(name: str) -> str:
    """The part type whose English name (part_types.yaml `en`) is `name`."""
    found = [pt for pt, spec in part_types().items() if spec["en"].lower() == name.lower()]
    assert len(found) == 1, (name, found)
    return found[0]


def category_named(graph, name: str) -> str:
    """The id of the category called `name`, the one nearest the root when the tree repeats it."""
    found = [c for c in graph.categories.values() if c.name == name]
    assert found, name
    depth = min(len(c.path_ids) for c in found)
    top = [c.id for c in found if len(c.path_ids) == depth]
    assert len(top) == 1, (name, top)
    return top[0]


def nlu_examples(*files: str) -> list[tuple[str, str]]:
    """(intent, text) of the NLU training examples, annotations removed."""
    out = []
    for path in sorted(files or glob.glob(str(ROOT / "data" / "nlu" / "*.yml"))):
        for block in yaml.safe_load(Path(path).read_text(encoding="utf-8")).get("nlu", []):
            if "intent" not in block:
                continue
            for line in block["examples"].splitlines():
                line = line.strip()
                if line.startswith("- "):
                    text = re.sub(r"\[([^\]]*)\](?:\{[^}]*\}|\([^)]*\))", r"\1", line[2:])
                    if text.strip():
                        out.append((block["intent"], text))
    return out


@pytest.fixture(scope="module")
def amounts(graph):
    """Budgets shoppers could name: graphics card prices of the catalogue rounded to hundreds,
    from $100 to $9,900 (k and Chinese numerals are written from these)."""
    values = sorted(
        {
            int(round(p.price, -2))
            for p in graph.products.values()
            if p.part_type == part_type_named("graphics card") and 100 <= round(p.price, -2) < 10000
        }
    )
    assert len(values) >= 10
    return values


def band(amount: float) -> tuple[float, float]:
    return round(amount * AROUND_FLOOR, 2), round(amount * AROUND_CEILING, 2)


def usd(yuan: float) -> float:
    return round(yuan / get_settings().kg_cny_per_usd, 2)


_ZH_DIGITS = "零一二三四五六七八九"


def zh_amount(n: int, short: bool = False) -> str:
    """A whole number of hundreds below 100,000 in Chinese numerals (2000 → 两千, 1500 → 一千五百;
    `short`: the last unit left out as people say it, 1500 → 一千五, 15000 → 一万五)."""
    digit = lambda d: "两" if d == 2 else _ZH_DIGITS[d]  # noqa: E731
    wan, rest = divmod(n, 10000)
    thousands, rest = divmod(rest, 1000)
    hundreds = rest // 100
    parts = [(wan, "万"), (thousands, "千"), (hundreds, "百")]
    text, gap = "", False
    for value, unit in parts:
        if value:
            text += (
                ("零" if gap and text else "") + (digit(value) if unit != "百" else _ZH_DIGITS[value]) + unit
            )
            gap = False
        else:
            gap = True
    nonzero = [u for v, u in parts if v]
    if short and len(nonzero) >= 2 and not text.endswith("万") and "零" not in text:
        units = "万千百"
        if units.index(nonzero[-1]) == units.index(nonzero[-2]) + 1:
            text = text[:-1]
    return text


# --- misspelt category words ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,name",
    [
        ("grafics card", "graphics card"),
        ("graphic crad", "graphics card"),
        ("moniter", "monitor"),
        ("keybaord", "keyboard"),
        ("processer", "CPU"),
        ("a cheap keybaord under $50", "keyboard"),
        ("motherbord for AM5", "motherboard"),
        ("hedphones", "headphones"),
        ("powersupply 750W", "power supply"),
        ("顯卡", "graphics card"),
        ("显示卡", "graphics card"),
        ("显 卡", "graphics card"),
        ("顯示器", "monitor"),
        ("主版", "motherboard"),
        ("鼠表", "mouse"),
        ("滑鼠", "mouse"),
        ("处理气", "CPU"),
    ],
)
def test_misspelt_category_words(graph, text, name):
    parsed = parse_search(graph, text)
    assert parsed.query.part_type == part_type_named(name) and parsed.query.category is None
    assert parsed.query.text is None or "card" not in parsed.query.text


def test_typos_are_reported(graph):
    parsed = parse_search(graph, "moniter")
    assert parsed.corrected == (("moniter", part_types()[part_type_named("monitor")]["en"]),)
    assert parse_search(graph, "monitor").corrected == ()


def _inner_typos(word: str) -> list[str]:
    """Two usual slips: neighbouring inner letters swapped, an inner letter left out."""
    i = len(word) // 2
    return [word[:i] + word[i + 1] + word[i] + word[i + 2 :], word[:i] + word[i + 1 :]]


def test_typos_of_every_long_category_word(graph):
    """Every single-word category word of seven letters or more in the vocabulary files, misspelt
    twice, still finds what the word names there."""
    synonyms = load_yaml("category_synonyms.yaml")["en"]
    expected: dict[str, tuple[str | None, str | None]] = {}
    for pt, spec in part_types().items():
        for word in spec.get("synonyms_en", []) + [spec["en"]]:
            expected.setdefault(str(word).lower(), (None, pt))
    for word, cid in synonyms.items():
        expected[word.lower()] = (cid, None)
    checked = 0
    for word, target in expected.items():
        if not (word.isalpha() and len(word) >= 7):
            continue
        for typo in _inner_typos(word):
            if typo in graph.token_index or typo in expected:
                continue  # the slip made a real word
            m = match_category(graph, f"show me a {typo} please")
            assert (m.category, m.part_type) == target, (typo, word)
            checked += 1
    assert checked >= 20


def test_chinese_variants_and_typos(graph):
    """Every Chinese variant of category_variants.yaml names its target; a four-character category
    word with one character wrong (not the first) still does."""
    variants = load_yaml("category_variants.yaml")["zh"]
    for word, target in variants.items():
        m = match_category(graph, f"有没有{word}")
        expected = (None, target) if target in part_types() else (target, None)
        assert (m.category, m.part_type) == expected, word
    words: dict[str, tuple[str | None, str | None]] = {
        str(w): (cid, None) for w, cid in load_yaml("category_synonyms.yaml")["zh"].items()
    }
    for pt, spec in part_types().items():
        for w in spec.get("synonyms_zh", []) + [spec["zh"]]:
            words.setdefault(str(w), (None, pt))
    words = {w: t for w, t in words.items() if re.fullmatch(r"[\u4e00-\u9fff]{4,}", w)}
    checked = 0
    for word, target in words.items():
        typo = word[:2] + "某" + word[3:]
        if any(
            len(other) == len(typo)
            and sum(a != b for a, b in zip(other, typo)) <= 1
            and words[other] != target
            for other in words
        ):
            continue  # one character from two different words: ambiguous
        m = match_category(graph, f"想买{typo}")
        assert (m.category, m.part_type) == target, (typo, word)
        checked += 1
    assert checked >= 3


def test_ordinary_words_are_not_categories(graph):
    """Precision: no word of the FAQ answers, of the ordinary words listed beside the variants, or
    of the short words around category words, is read as a misspelt category word."""
    words: set[str] = set()
    for path in glob.glob(str(ROOT / "data" / "faq" / "entries" / "*.yaml")):
        words |= set(re.findall(r"[A-Za-z]{3,}", Path(path).read_text(encoding="utf-8")))
    words |= set(load_yaml("category_variants.yaml")["not_typos"]["en"])
    words |= {
        "house",
        "mose",
        "card",
        "cart",
        "cards",
        "chop",
        "mice",
        "more",
        "mode",
        "case",
        "care",
        "game",
        "gaming",
    }
    assert len(words) > 500
    corrected = {w: match_category(graph, w).corrected for w in words}
    assert {w: c for w, c in corrected.items() if c} == {}
    for word in load_yaml("category_variants.yaml")["not_typos"]["zh"]:
        m = match_category(graph, f"我想看{word}")
        assert m.corrected == ()


def test_other_conversations_get_no_corrections(graph):
    """Messages of the non-shopping intents (orders, stores, FAQ, chitchat) are never given a
    category through a typo correction."""
    shopping = {
        "search_products",
        "refine_search",
        "ask_what_fits",
        "check_compatibility",
        "recommend_products",
    }
    examples = [(i, t) for i, t in nlu_examples() if i not in shopping]
    assert len(examples) > 1000
    assert [(i, t) for i, t in examples if parse_search(graph, t).corrected] == []


# --- computers, not video games -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a gaming PC",
        "gaming desktop",
        "游戏电脑",
        "PC",
        "a desktop computer under $1500",
        "台式机",
        "I want a new computer",
    ],
)
def test_a_pc_is_a_computer(graph, text):
    desktops = category_named(graph, "Desktop & All-in-One Computers")
    assert graph.categories[desktops].path_ids[0] == category_named(graph, "Computers & Tablets")
    assert parse_search(graph, text).query.category == desktops


@pytest.mark.parametrize("text", ["PC games", "games for my PC", "电脑游戏", "pc游戏"])
def test_pc_games_are_games(graph, text):
    assert parse_search(graph, text).query.category == category_named(graph, "Video Games")


@pytest.mark.parametrize(
    "text,name",
    [
        ("a mouse for my gaming PC", "mouse"),
        ("RAM for my PC", "memory"),
        ("a case for an ATX motherboard", "PC case"),
        ("graphics card for my pc", "graphics card"),
        ("游戏电脑的显卡", "graphics card"),
        ("给电脑配个显卡", "graphics card"),
    ],
)
def test_what_a_part_is_for_does_not_win(graph, text, name):
    q = parse_search(graph, text).query
    assert q.part_type == part_type_named(name) and q.category is None


# --- contractions and fragments ---------------------------------------------------------------------


def test_contractions_do_not_become_search_text(graph):
    for pt, spec in part_types().items():
        q = parse_search(graph, f"What's the cheapest {spec['en']}?").query
        assert q.part_type == pt or q.category is not None, spec["en"]
        assert q.sort == "price_asc" and q.text is None, (spec["en"], q.text)
    assert parse_search(graph, "I'm looking for a keyboard that's cheap, don't show wired").query.text is None


def test_no_single_letters_in_search_text(graph):
    """Over every NLU example: the free text holds no lone letter ("s" of what's, "t" of don't)."""
    for _, text in nlu_examples():
        words = (parse_search(graph, text).query.text or "").split()
        assert not [w for w in words if len(w) == 1 and not w.isdigit()], text


# --- budgets -----------------------------------------------------------------------------------------


def test_about_is_a_band_around_the_figure(graph, amounts):
    for a in amounts:
        for text in (
            f"about ${a}",
            f"around {a} dollars",
            f"~${a}",
            f"roughly ${a:,}",
            f"budget of about {a}",
            f"{a}美元左右",
            f"大概{a}美元",
        ):
            q = parse_search(graph, f"graphics card {text}" if text.isascii() else f"{text}的显卡").query
            assert (q.price_min, q.price_max) == band(a), text
            assert q.price_min < a < q.price_max <= a * 1.2  # a little above, never far above
        q = parse_search(graph, f"{a}左右的显卡").query  # a bare amount in Chinese is yuan
        assert (q.price_min, q.price_max) == band(usd(a))
    a = amounts[len(amounts) // 2]
    result = search(graph, parse_search(graph, f"graphics card about ${a}").query, relax=False)
    low, high = band(a)
    expected = sum(
        1
        for p in graph.products.values()
        if p.part_type == part_type_named("graphics card") and low <= p.price <= high
    )
    assert result.total == expected > 0


def test_ranges(graph, amounts):
    for low, high in zip(amounts, amounts[1:]):
        for text in (f"价格在{low}到{high}美元之间的显卡", f"graphics card between ${low:,} and ${high:,}"):
            q = parse_search(graph, text).query
            assert (q.price_min, q.price_max) == (low, high) and q.text is None, text
        q = parse_search(graph, f"{low}-{high}之间的显卡").query  # bare amounts in Chinese: yuan
        assert (q.price_min, q.price_max) == (usd(low), usd(high)) and q.text is None
        parsed = parse_search(graph, f"{low}到{high}元的显卡")
        assert (parsed.query.price_min, parsed.query.price_max) == (usd(low), usd(high))
        assert parsed.currency_note == (high, "CNY", usd(high))


def test_thousands_with_k(graph, amounts):
    for a in (x for x in amounts if x >= 1000):
        k = f"{a / 1000:g}k"
        assert parse_search(graph, f"a gpu under {k}").query.price_max == a, k
        assert parse_search(graph, f"${k} gaming pc").query.price_max == a, k
        if a not in (2000, 4000, 5000, 8000):  # a bare 2K/4K/5K/8K is a resolution
            assert parse_search(graph, f"{k} graphics card").query.price_max == a, k
        assert parse_search(graph, f"{a:,} bucks").query.price_max == a
    q = parse_search(graph, "2k monitor").query  # 2K alone is a resolution
    assert q.price_max is None and q.filters


def test_yuan_are_converted_and_reported(graph, amounts):
    for a in amounts:
        for text in (f"{a}元左右的显示器", f"预算{a}元", f"{a}块以内", f"around {a} yuan", f"¥{a} monitor"):
            parsed = parse_search(graph, text)
            assert parsed.currency_note == (a, "CNY", usd(a)), text
            q = parsed.query
            if "左右" in text or "around" in text:
                assert (q.price_min, q.price_max) == band(usd(a)), text
            else:
                assert q.price_max == usd(a) and q.price_min is None, text
        bare = parse_search(graph, f"预算{a}")  # no currency in Chinese: what a Chinese shopper means, yuan
        assert bare.query.price_max == usd(a) and bare.currency_note == (a, "CNY", usd(a))
        dollars = parse_search(graph, f"预算{a}美元")
        assert dollars.query.price_max == a and dollars.currency_note is None
        english = parse_search(graph, f"a budget of {a}")  # a bare amount in English is dollars
        assert english.query.price_max == a and english.currency_note is None


def test_chinese_numerals(graph, amounts):
    for a in amounts:
        for form in {zh_amount(a), zh_amount(a, short=True)}:
            assert parse_search(graph, f"{form}以内的显卡").query.price_max == usd(a), form
            parsed = parse_search(graph, f"{form}块左右的显卡")
            assert parsed.currency_note == (a, "CNY", usd(a)), form
            assert (parsed.query.price_min, parsed.query.price_max) == band(usd(a)), form
    for n in (10000, 15000, 35000):
        assert parse_search(graph, f"{zh_amount(n, short=True)}以内").query.price_max == usd(n)
    assert parse_search(graph, "一个显卡").query.price_max is None  # 一个 is "one", not an amount


def test_price_entities_read_like_the_parser(amounts):
    """The NLU price entity of the same wording gives the same dollars as the parser."""
    for a in amounts:
        assert price_from_entity(f"{a}元") == usd(a) and price_from_entity(f"¥{a:,}") == usd(a)
        assert price_from_entity(f"${a:,}") == a and price_from_entity(f"{a}美元") == a
        assert price_from_entity(zh_amount(a)) == a and price_from_entity(f"{zh_amount(a)}块") == usd(a)
        if a >= 1000:
            assert price_from_entity(f"{a / 1000:g}k") == a


def test_model_numbers_and_codes_are_not_prices(graph):
    for text in (
        "Intel Core i9-14900K",
        "AMD A10-7700K",
        "find me a store around 30301",
        "BB-1065552附近的店",
        "PC-3F2A9B01C4 in stock?",
    ):
        q = parse_search(graph, text).query
        assert q.price_min is None and q.price_max is None, text
        assert q.category is None, text


# --- sort words ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,sort",
    [
        ("which is the cheapest", "price_asc"),
        ("the cheapest one", "price_asc"),
        ("最便宜的是哪个", "price_asc"),
        ("most expensive", "price_desc"),
        ("which is the most expensive one", "price_desc"),
        ("最贵的是哪个", "price_desc"),
        ("按价格从低到高", "price_asc"),
        ("price high to low", "price_desc"),
    ],
)
def test_sort_words(graph, text, sort):
    assert find_sort(text)[0] == sort
    parsed = parse_search(graph, text)
    assert parsed.query.sort == sort and parsed.query.text is None and not parsed.popular
    with_category = parse_search(graph, f"{text} monitor").query
    assert with_category.part_type == part_type_named("monitor") and with_category.sort == sort
    assert with_category.text is None


@pytest.mark.parametrize(
    "text",
    [
        "highest rated keyboard",
        "the most popular keyboard",
        "best selling keyboard",
        "评分最高的键盘",
        "最受欢迎的键盘",
    ],
)
def test_highest_rated_is_the_popularity_order(graph, text):
    """No ratings in the data: the catalogue's own (popularity) order, and the words are consumed."""
    parsed = parse_search(graph, text)
    assert parsed.popular and parsed.query.sort == "relevance" and parsed.query.text is None
    assert parsed.query.part_type == part_type_named("keyboard")
    assert "sort=popularity" in parsed.consumed


# --- speed ---------------------------------------------------------------------------------------------


def test_parse_stays_fast(graph):
    """Average CPU time per message over the search examples of the NLU data, well under 2 ms."""
    texts = [
        t
        for i, t in nlu_examples(str(ROOT / "data" / "nlu" / "products.yml"))
        if i in ("search_products", "refine_search")
    ][:200]
    assert len(texts) >= 100
    for text in texts:
        parse_search(graph, text)
    start = time.process_time()
    for text in texts:
        parse_search(graph, text)
    assert (time.process_time() - start) / len(texts) < 0.002


def test_every_category_variant_names_a_real_category_or_part_type(graph):
    """The parser skips variants of categories a graph lacks (small test catalogues), so a typo in
    an id would pass silently there: the real catalogue must have every target."""
    from catalog.reference import part_types

    variants = load_yaml("category_variants.yaml")
    for lang in ("en", "zh"):
        for phrase, target in variants[lang].items():
            assert str(target) in graph.categories or str(target) in part_types(), (lang, phrase, target)


def test_chinese_gpu_slang_names_the_chip_maker(graph):
    """A卡 / N卡 are what Chinese shoppers call AMD / NVIDIA graphics cards."""
    for text, maker in (("要A卡", "AMD"), ("N卡有吗", "NVIDIA"), ("3000以内的n卡", "NVIDIA")):
        q = parse_search(graph, text).query
        assert q.part_type == part_type_named("graphics card"), text
        assert ("gpu_maker", "eq", maker) in [(f.key, f.op, f.value) for f in q.filters], text
    assert parse_search(graph, "SATA卡").query.filters == ()


# --- homophone typos, cooler types, ruled-out variants, attributes the data lacks ---------------------


@pytest.mark.parametrize(
    "said, meant",
    [("有没有便宜点的现卡", "显卡"), ("cpu散热气有啥推荐", "散热器"), ("有没有好点的机想", "机箱")],
)
def test_a_chinese_word_typed_with_a_character_of_the_same_sound_is_read(graph, said, meant):
    """现卡 sounds like 显卡 (xian ka): what a pinyin keyboard produces; read as the word it sounds like."""
    wanted = [
        pt for pt, spec in part_types().items() if meant == spec["zh"] or meant in spec.get("synonyms_zh", [])
    ]
    assert parse_search(graph, said).query.part_type in wanted


@pytest.mark.parametrize("text", ["我是店员", "看见盘子了", "主办方"])
def test_real_words_that_sound_like_a_category_are_not_typos(graph, text):
    parsed = parse_search(graph, text)
    assert parsed.query.part_type is None and parsed.query.category is None


def test_liquid_and_air_coolers_are_told_apart(graph):
    liquid = search(graph, parse_search(graph, "cpu散热器，要水冷的").query)
    air = search(graph, parse_search(graph, "下压式散热器").query)
    assert liquid.items and all(p.attributes.get("cooler_type") == "liquid" for p in liquid.items)
    assert air.items and all(p.attributes.get("cooler_type") == "air" for p in air.items)


@pytest.mark.parametrize("text", ["有没有 4060 显卡，不要ti", "a 4060 graphics card, not the Ti"])
def test_a_ruled_out_variant_is_excluded(graph, text):
    found = search(graph, parse_search(graph, text).query)
    chipsets = {
        p.attributes.get("chipset")
        for p in graph.products.values()
        if "4060" in str(p.attributes.get("chipset"))
    }
    assert any(re.search(r"(?i)\bti\b", str(c)) for c in chipsets)  # the catalogue has Ti variants to exclude
    assert found.items and all(
        "4060" in p.attributes["chipset"] and not re.search(r"(?i)\bti\b", p.attributes["chipset"])
        for p in found.items
    )


def test_a_question_about_an_attribute_the_catalogue_lacks_is_understood(graph):
    from knowledge_graph.parse import find_attribute
    from knowledge_graph.vocab import attributes

    cooler = next(p for p in graph.products.values() if p.part_type == part_type_named("CPU cooler"))
    for text in ("多高？", "how tall is it?"):
        key = find_attribute(text, cooler)
        assert key is not None and key not in attributes() and key not in cooler.attributes


def test_brands_without_their_punctuation_and_misspelt(graph):
    """ "be quiet" for "be quiet!", "g skill" for "G.Skill"; a one-word brand with a letter dropped or
    two swapped is still the brand. Brands and their misspellings are made from the catalogue's brand
    list; ordinary words are never read as a brand."""
    from knowledge_graph.parse import find_brands

    punctuated = [b for b in graph.brands if re.search(r"[^\w\s]", b) and re.search(r"[A-Za-z]{2}", b)]
    assert punctuated
    for brand in punctuated[:20]:
        plain = " ".join(re.sub(r"[^\w\s]+", " ", brand).split()).lower()
        assert brand in find_brands(graph, f"any {plain} ones")[0], brand
    long = sorted(b for b in graph.brands if b.isascii() and b.isalpha() and len(b) >= 7)[:30]
    read = 0
    for brand in long:
        dropped = brand[:-1].lower()
        if dropped in graph.token_index:
            continue
        assert brand in find_brands(graph, f"{dropped} products")[0], brand
        read += 1
    assert read >= 10
    for text in ("memory for gaming", "graphics cards under 500", "a quiet keyboard", "wireless mouse"):
        assert find_brands(graph, text)[0] == [], text
