"""Catalogue mention linking over the real catalogue. Expected products come from the catalogue
itself (a product's own name, its model-number word, a word with two letters swapped), never from
the linker."""

from __future__ import annotations

import random
import re

import pytest

from knowledge_graph.linker import link, linker
from knowledge_graph.vocab import tokens


def _unique_names(graph, part_type: str, n: int) -> list:
    """Popular products of a type whose name no other product shares."""
    counts: dict[str, int] = {}
    for p in graph.products.values():
        counts[p.name.lower()] = counts.get(p.name.lower(), 0) + 1
    out = []
    for sku in graph.columns.skus:
        p = graph.products[sku]
        if p.part_type == part_type and counts[p.name.lower()] == 1 and any(c.isdigit() for c in p.name):
            out.append(p)
        if len(out) == n:
            break
    return out


@pytest.mark.parametrize("part_type", ["cpu", "power-supply", "cpu-cooler", "motherboard"])
def test_a_full_name_links_to_that_product(graph, part_type):
    for product in _unique_names(graph, part_type, 8):
        mentions = link(graph, f"do you carry the {product.name}?")
        assert mentions, product.name
        assert product.sku in mentions[0].candidates, (product.name, mentions[0])


def test_a_unique_full_name_is_clear(graph):
    clear = 0
    products = _unique_names(graph, "cpu", 20)
    for product in products:
        m = link(graph, product.name)
        clear += bool(m and m[0].clear and m[0].sku == product.sku)
    assert clear >= 0.9 * len(products)


def test_a_model_number_alone_links(graph):
    """The model-number word of a name ("9800x3d", "rm850x") links to a product that carries it."""
    checked = 0
    for product in _unique_names(graph, "cpu", 30) + _unique_names(graph, "power-supply", 30):
        # model words, not resolutions ("1200p" says a format, not which product)
        words = [
            w
            for w in tokens(product.name)
            if any(c.isdigit() for c in w)
            and any(c.isalpha() for c in w)
            and graph.token_df.get(w, 0) <= 3
            and not re.fullmatch(r"\d+p", w)
        ]
        if not words:
            continue
        mentions = link(graph, f"how much is the {words[0]}")
        assert mentions and all(words[0] in graph.name_tokens[s] for s in mentions[0].candidates), (
            words[0],
            mentions,
        )
        checked += 1
    assert checked >= 10


def test_typos_in_a_product_word_are_corrected(graph):
    rng = random.Random(3)
    fixed = tried = 0
    for product in _unique_names(graph, "cpu-cooler", 40):
        words = [
            w
            for w in tokens(product.name)
            if w.isalpha() and len(w) >= 6 and w in linker(graph)._by_length.get(len(w), [])
        ]
        if not words:
            continue
        word = words[0]
        i = rng.randrange(1, len(word) - 2)
        typo = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if typo == word:
            continue
        tried += 1
        fixed += linker(graph).correct(typo) == word
    assert tried >= 5 and fixed >= 0.8 * tried


def test_ordinary_words_are_not_products(graph):
    for text in [
        "is the first one in stock",
        "add it to my cart",
        "where is my order",
        "cancel it",
        "talk to a person",
        "what are your opening hours",
        "thanks a lot",
        "我要退货",
        "第一款多少钱",
    ]:
        assert link(graph, text) == [], text


def test_request_words_are_not_corrected_into_products(graph):
    for word in ["stock", "store", "cheaper", "delivery", "checkout", "compatible"]:
        assert linker(graph).correct(word) is None


def test_chinese_brand_names_link(graph):
    lex_pairs = [
        (zh, brand) for zh, brand in linker(graph)._brand_zh if brand in ("Samsung", "Corsair", "AMD")
    ]
    assert lex_pairs
    zh, brand = lex_pairs[0]
    product = next(
        graph.products[s]
        for s in graph.columns.skus
        if graph.products[s].brand == brand and any(c.isdigit() for c in graph.products[s].name)
    )
    model = [w for w in product.name.split() if any(c.isdigit() for c in w)][0]
    mentions = link(graph, f"{zh}{model}有货吗")
    assert mentions and any(graph.products[s].brand == brand for s in mentions[0].candidates)


def test_equal_readings_are_candidates_not_a_guess(graph):
    """A name shared by several products (capacities, colours) is not clear: the caller asks."""
    names: dict[str, list[str]] = {}
    for sku in graph.columns.skus[:3000]:
        names.setdefault(graph.products[sku].name, []).append(sku)
    shared = next(n for n, skus in names.items() if len(skus) >= 2 and any(c.isdigit() for c in n))
    mentions = link(graph, shared)
    assert mentions and not mentions[0].clear and len(mentions[0].candidates) >= 2
    assert all(graph.products[s].name == shared for s in mentions[0].candidates[:2])


def test_a_variant_ruled_out_is_dropped_from_the_candidates(graph):
    """ "<name> (not Ti)" / "<name>，不是Ti": the pairs are found in the catalogue (a name and the same
    name with " Ti" after the model number), so the two share every other word."""
    names = {p.name for p in graph.products.values()}
    pairs = sorted(n for n in names if n.endswith(")") and n[:-1] + " Ti)" in names)[:10]
    assert pairs
    for name in pairs:
        ti = {p.sku for p in graph.products.values() if p.name == name[:-1] + " Ti)"}
        plain = {p.sku for p in graph.products.values() if p.name == name}
        for text in (f"how many {name} (not Ti) do we have", f"{name}，不是Ti，还有吗"):
            mentions = link(graph, text)
            assert mentions and not ti & set(mentions[0].candidates), (text, mentions)
            assert plain & set(mentions[0].candidates), (text, mentions)


def test_a_capacity_said_with_a_name_keeps_the_readings_of_that_capacity(graph):
    """Memory kits sold under one name in several capacities ("… 32 GB", "… 64 GB" are different
    names, the shared words the same): the capacity said keeps only the kits that have it."""
    by_line: dict[tuple[str, ...], set[int]] = {}
    for p in graph.products.values():
        cap = p.attributes.get("capacity")
        if p.part_type == "memory" and isinstance(cap, int):
            line = tuple(w for w in tokens(p.name) if w not in (str(cap), "gb"))
            by_line.setdefault(line, set()).add(cap)
    lines = [(line, caps) for line, caps in by_line.items() if len(caps) >= 2 and len(line) >= 3][:10]
    assert lines
    for line, caps in lines:
        cap = max(caps)
        mentions = link(graph, f"add the {' '.join(line)} {cap}GB too")
        assert mentions, line
        found = [graph.products[s] for s in mentions[0].candidates]
        assert all(p.attributes.get("capacity") == cap for p in found), (line, cap, [p.name for p in found])


@pytest.mark.parametrize("template", ["do you have the {}", "有没有{}"])
def test_a_model_number_typed_together_with_its_suffix_links_like_the_spaced_name(graph, template):
    """ "990pro" for "990 Pro": products whose names hold a number followed by a word of letters."""
    joined = re.compile(r"\b(\d{3,4}) ([A-Za-z]{2,})\b")
    names = sorted({p.name for p in graph.products.values() if joined.search(p.name)})
    assert names
    for name in random.Random(7).sample(names, min(10, len(names))):
        spaced = link(graph, template.format(name))
        together = link(graph, template.format(joined.sub(r"\1\2", name)))
        assert spaced and together and set(together[0].candidates) & set(spaced[0].candidates), name
