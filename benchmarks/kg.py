"""Knowledge-graph benchmark (`make bench-kg`): build time and memory of the full catalogue, query
latency per query type, and question-answering accuracy on English and Chinese questions whose
expected answers are computed from the catalogue records (not from the graph code under test).

Metrics: build_s, memory_mb, query_p95_ms (worst query type), qa_accuracy.
"""

from __future__ import annotations

import gc
import math
import os
import resource
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from benchmarks.common import percentile, summarise_ms, write_result

REPEATS = 30


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure_build() -> tuple[Any, dict[str, float]]:
    """Full build from the shop files (no cache): import + graph + indexes + similarity."""
    import catalog
    from knowledge_graph.graph import build_graph
    from knowledge_graph.store import load_graph

    gc.collect()
    before = _rss_mb()
    started, started_cpu = time.perf_counter(), time.process_time()
    products = catalog.load_products()
    categories = catalog.load_categories()
    imported = time.perf_counter()
    graph = build_graph(products, categories)
    built, built_cpu = time.perf_counter(), time.process_time()
    gc.collect()
    after = _rss_mb()
    del graph
    started_cache = time.perf_counter()
    cached = load_graph(source="files")  # writes the cache when missing (what a restart loads)
    load_s = time.perf_counter() - started_cache
    started_cache = time.perf_counter()
    cached = load_graph(source="files")
    return cached, {
        "build_s": round(built - started, 2),
        "build_cpu_s": round(built_cpu - started_cpu, 2),
        "import_s": round(imported - started, 2),
        "graph_s": round(built - imported, 2),
        "memory_mb": round(after - before, 1),
        "cache_first_load_s": round(load_s, 2),
        "cache_load_s": round(time.perf_counter() - started_cache, 2),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


# --- fixed query set ---------------------------------------------------------------------------------

SEARCH_TEXTS = [
    "an AMD CPU under $300",
    "300美元以下的AMD处理器",
    "DDR5 memory at least 32 GB",
    "27 inch 1440p monitor 144 Hz or more",
    "144Hz以上的2K显示器",
    "cheapest 1TB NVMe SSD",
    "Corsair 850W gold fully modular power supply",
    "wireless mouse from Logitech under 50 dollars",
    "NVIDIA graphics card between $300 and $600",
    "AM5 motherboard",
    "mini itx case white",
    "32GB内存 DDR5 海盗船",
    "华硕主板 500美元以内",
    "RTX 4070 graphics card",
    "AMD CPU under $20",
    "Noctua cpu cooler",
    "机械键盘 100美元以下",
    "headphones with a microphone",
    "4K monitor",
    "移动硬盘 4TB",
]


def _unique_named(
    records: list, part_type: str, key: str | None, n: int, where: Callable[[Any], bool] = lambda p: True
) -> list:
    """The n most popular products of a type whose name is unique in the catalogue and that have
    the attribute asked about — so the expected answer is unambiguous."""
    names = Counter(p.name for p in records)
    out = []
    for p in records:  # catalogue order = the source's popularity order
        if (
            p.part_type == part_type
            and names[p.name] == 1
            and (key is None or key in p.attributes)
            and len(p.name.split()) >= 2
            and where(p)
        ):
            out.append(p)
        if len(out) == n:
            break
    return out


ATTRIBUTE_TEMPLATES = [  # (part type, attribute, English question, Chinese question)
    ("cpu", "core_count", "How many cores does the {name} have?", "{name}有几个核心？"),
    ("cpu", "socket", "What socket does the {name} use?", "{name}是什么插槽？"),
    ("cpu", "boost_clock", "What is the boost clock of the {name}?", "{name}的睿频是多少？"),
    ("monitor", "refresh_rate", "What is the refresh rate of the {name}?", "{name}的刷新率是多少？"),
    ("monitor", "screen_size", "What is the screen size of the {name}?", "{name}的屏幕尺寸是多少？"),
    ("motherboard", "memory_type", "What memory type does the {name} take?", "{name}支持什么内存？"),
    ("video-card", "memory", "How much VRAM does the {name} have?", "{name}的显存多大？"),
    ("power-supply", "wattage", "What is the wattage of the {name}?", "{name}的功率是多少？"),
    ("internal-hard-drive", "capacity", "What is the capacity of the {name}?", "{name}的容量是多大？"),
    ("memory", "price", "How much does the {name} cost?", "{name}多少钱？"),
]

# (English, Chinese, which records answer it): "the cheapest …" searches with units, comparisons,
# brands and budgets; the expected answer is the lowest price among the records the predicate keeps.
SEARCH_QUESTIONS: list[tuple[str, str, Callable[[Any], bool]]] = [
    (
        "cheapest AMD CPU under $300",
        "300美元以下最便宜的AMD处理器",
        lambda p: p.part_type == "cpu" and p.brand == "AMD" and p.price <= 300,
    ),
    (
        "cheapest Intel CPU under $200",
        "200美元以下最便宜的英特尔处理器",
        lambda p: p.part_type == "cpu" and p.brand == "Intel" and p.price <= 200,
    ),
    (
        "cheapest AMD CPU with 8 cores or more",
        "最便宜的8核以上AMD处理器",
        lambda p: p.part_type == "cpu" and p.brand == "AMD" and p.attributes.get("core_count", 0) >= 8,
    ),
    (
        "cheapest DDR5 memory with at least 32 GB",
        "最便宜的32GB以上DDR5内存",
        lambda p: (
            p.part_type == "memory"
            and p.attributes.get("memory_type") == "DDR5"
            and p.attributes.get("capacity", 0) >= 32
        ),
    ),
    (
        "cheapest 27 inch monitor with 144 Hz or more",
        "最便宜的27英寸144Hz以上显示器",
        lambda p: (
            p.part_type == "monitor"
            and p.attributes.get("screen_size") == 27
            and p.attributes.get("refresh_rate", 0) >= 144
        ),
    ),
    (
        "cheapest 1440p monitor",
        "最便宜的2K显示器",
        lambda p: p.part_type == "monitor" and p.attributes.get("resolution") == "1440p",
    ),
    (
        "cheapest 850W gold power supply",
        "最便宜的850W金牌电源",
        lambda p: (
            p.part_type == "power-supply"
            and p.attributes.get("wattage") == 850
            and p.attributes.get("efficiency") == "80+ Gold"
        ),
    ),
    (
        "cheapest Corsair DDR4 memory",
        "最便宜的海盗船DDR4内存",
        lambda p: (
            p.part_type == "memory" and p.brand == "Corsair" and p.attributes.get("memory_type") == "DDR4"
        ),
    ),
]


def qa_set(records: list) -> list[dict[str, Any]]:
    """English and Chinese questions with answers computed straight from the catalogue records
    (a fresh import, not the graph under test): attributes of popular products, CPU/motherboard
    compatibility (half of the pairs share a socket, half do not) and cheapest-match searches."""
    items: list[dict[str, Any]] = []
    for part_type, key, en, zh in ATTRIBUTE_TEMPLATES:
        for p in _unique_named(records, part_type, None if key == "price" else key, 2):
            expected = p.price if key == "price" else p.attributes[key]
            items.append(
                {
                    "q": en.format(name=p.name),
                    "lang": "en",
                    "kind": "attribute",
                    "expected": expected,
                    "sku": p.sku,
                }
            )
            items.append(
                {
                    "q": zh.format(name=p.name),
                    "lang": "zh",
                    "kind": "attribute",
                    "expected": expected,
                    "sku": p.sku,
                }
            )
    cpus = _unique_named(records, "cpu", "socket", 8)
    for i, cpu in enumerate(cpus):
        same = i % 2 == 0
        board = _unique_named(
            records,
            "motherboard",
            "socket",
            i // 2 + 1,
            lambda b: (b.attributes["socket"] == cpu.attributes["socket"]) == same,  # noqa: B023
        )[-1]  # the filter runs before the loop moves on
        expected = cpu.attributes["socket"] == board.attributes["socket"]
        items.append(
            {
                "q": f"Will the {cpu.name} fit the {board.name}?",
                "lang": "en",
                "kind": "compatibility",
                "expected": expected,
            }
        )
        items.append(
            {
                "q": f"{cpu.name}和{board.name}兼容吗？",
                "lang": "zh",
                "kind": "compatibility",
                "expected": expected,
            }
        )
    for en, zh, keep in SEARCH_QUESTIONS:
        pool = [p for p in records if keep(p)]
        cheapest = min(p.price for p in pool)
        answers = sorted(p.sku for p in pool if p.price == cheapest)
        items.append({"q": en, "lang": "en", "kind": "search", "expected": cheapest, "sku": answers})
        items.append({"q": zh, "lang": "zh", "kind": "search", "expected": cheapest, "sku": answers})
    return items


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-6)
    return a == b


def run_qa(graph, questions: list[dict[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
    from knowledge_graph.api import answer

    results = []
    for item in questions:
        a = answer(graph, item["q"], item["lang"])
        if item["kind"] == "search":
            got = a.value.items[0].price if a.kind == "search" and a.value.items else None
        else:
            got = a.value
        ok = a.kind == item["kind"] and _same(got, item["expected"])
        if item["kind"] == "attribute":
            ok = ok and a.skus[:1] == (item["sku"],)
        if item["kind"] == "search":  # the right product, not just the right price
            ok = ok and a.skus[:1] != () and a.skus[0] in item["sku"]
        results.append(
            {**item, "got": got if not hasattr(got, "items") else None, "kind_got": a.kind, "ok": ok}
        )
    return sum(r["ok"] for r in results) / len(results), results


PAUSE_S = 0.001


def query_latencies(graph, questions: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """p50/p95 per query type over the fixed set, after one warm-up pass, three ways:
    - "paced" (the headline): one query at a time with a 1 ms pause before each, as the action
      server receives them — it sleeps in its event loop until a request arrives;
    - "back_to_back": the same queries in a tight loop. On shared cores a busy loop uses up its
      time slice and is preempted mid-query for another process's slice (several ms), which says
      more about the machine's load than about the query;
    - "cpu": the thread's CPU time of each back-to-back query (its own cost)."""
    from knowledge_graph import api
    from knowledge_graph.parse import parse_search
    from knowledge_graph.search import search

    records = list(graph.products.values())
    cpus = _unique_named(records, "cpu", "socket", 5)
    boards = _unique_named(records, "motherboard", "socket", 5)
    mixed = [
        graph.products[s]
        for t in (
            "cpu",
            "motherboard",
            "memory",
            "video-card",
            "monitor",
            "power-supply",
            "case",
            "cpu-cooler",
        )
        for s in graph.by_part_type[t][:3]
    ]
    parsed = [parse_search(graph, t).query for t in SEARCH_TEXTS]
    work: dict[str, list[Callable[[], Any]]] = {
        "search_typed": [lambda q=q: search(graph, q) for q in parsed],
        "search_text": [lambda t=t: search(graph, parse_search(graph, t).query) for t in SEARCH_TEXTS],
        "details": [lambda p=p: api.details(graph, p.sku, "zh") for p in mixed],
        "attribute": [lambda p=p: api.attribute_answer(graph, p.sku, "price") for p in mixed],
        "compare": [lambda a=a, b=b: api.compare(graph, [a.sku, b.sku]) for a, b in zip(cpus, cpus[1:])],
        "compatibility": [
            lambda a=a, b=b: api.compatibility(graph, a.sku, b.sku) for a in cpus for b in boards
        ],
        "what_fits": [lambda p=p: api.compatible_with(graph, p.sku, limit=5) for p in mixed],
        "similar": [
            lambda p=p, m=m: api.similar(graph, p.sku, m)
            for p in mixed
            for m in ("similar", "cheaper", "better")
        ],
        "accessories": [lambda p=p: api.accessories(graph, p.sku) for p in mixed],
        "question": [lambda q=q: api.answer(graph, q) for q in questions],
    }
    out: dict[str, dict[str, dict[str, float]]] = {"paced": {}, "back_to_back": {}, "cpu": {}}
    for name, calls in work.items():
        for call in calls:
            call()
        paced, tight, cpu = [], [], []
        for _ in range(max(1, REPEATS // 3)):
            for call in calls:
                time.sleep(PAUSE_S)
                started = time.perf_counter()
                call()
                paced.append(time.perf_counter() - started)
            for call in calls:
                started, started_cpu = time.perf_counter(), time.thread_time()
                call()
                cpu.append(time.thread_time() - started_cpu)
                tight.append(time.perf_counter() - started)
        out["paced"][name] = summarise_ms(paced)
        out["back_to_back"][name] = summarise_ms(tight)
        out["cpu"][name] = summarise_ms(cpu)
    return out


def _worst(latencies: dict[str, dict[str, float]]) -> str:
    return max(latencies, key=lambda k: latencies[k]["p95_ms"])


LINK_TEMPLATES = (
    "do you carry the {name}?",
    "{name}",
    "is the {name} in stock at Union Square?",
    "你们有{name}吗",
    "how much is the {model}",
    "{model}有货吗",
    "show me the {typo}",
)


def _typo(name: str, rng: Any) -> str:
    """Two neighbouring letters swapped in the longest alphabetic word of the name."""
    words = name.split()
    longest = max(range(len(words)), key=lambda i: len(words[i]) if words[i].isalpha() else 0)
    word = words[longest]
    if len(word) >= 6 and word.isalpha():
        i = rng.randrange(1, len(word) - 2)
        words[longest] = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return " ".join(words)


def measure_linking(graph: Any, n_products: int = 150) -> dict[str, Any]:
    """Mention linking (knowledge_graph.linker) over messages naming popular products: time per
    message, with the search parser (parse.parse_search, the other per-message step of a product turn)
    timed on the same messages in the same run as the baseline, and how often the named product is among the candidates (the expected
    product is the one whose name the message was made from)."""
    import random

    from knowledge_graph.linker import link
    from knowledge_graph.parse import parse_search
    from knowledge_graph.vocab import tokens

    rng = random.Random(14)
    cases: list[tuple[str, str, str | None]] = []
    for sku in graph.columns.skus[: 3 * n_products : 3]:
        p = graph.products[sku]
        # a model word that names few products ("9800x3d", "rm850x"), so the message names this line
        models = [
            w
            for w in tokens(p.name)
            if any(c.isdigit() for c in w) and any(c.isalpha() for c in w) and graph.token_df.get(w, 99) <= 5
        ]
        for template in LINK_TEMPLATES:
            if "{model}" in template and not models:
                continue
            cases.append(
                (
                    template.format(name=p.name, model=models[0] if models else "", typo=_typo(p.name, rng)),
                    sku,
                    models[0] if "{model}" in template else None,
                )
            )
    link(graph, "warm up the tables")
    new_ms, old_ms, found = [], [], 0
    for text, sku, model in cases:
        t0 = time.perf_counter()
        mentions = link(graph, text)
        t1 = time.perf_counter()
        parse_search(graph, text)
        t2 = time.perf_counter()
        new_ms.append((t1 - t0) * 1000)
        old_ms.append((t2 - t1) * 1000)
        expected = graph.products[sku]
        if not mentions:
            continue
        if model:  # a model word alone names its line: every candidate must carry it
            found += all(model in graph.name_tokens[s] for s in mentions[0].candidates)
        else:  # a full name: that product, or one of the same name (colours, capacities)
            found += any(graph.products[s].name == expected.name for s in mentions[0].candidates)
    return {
        "messages": len(cases),
        "link_mean_ms": round(sum(new_ms) / len(new_ms), 3),
        "link_p95_ms": round(percentile(new_ms, 95), 3),
        "baseline_parse_search_mean_ms": round(sum(old_ms) / len(old_ms), 3),
        "baseline_parse_search_p95_ms": round(percentile(old_ms, 95), 3),
        "link_recall": round(found / len(cases), 4),
    }


def main() -> None:
    import catalog

    graph, build = measure_build()
    questions = qa_set(catalog.load_products())
    load_before = os.getloadavg()[0]
    latencies = query_latencies(graph, [item["q"] for item in questions][::3])
    accuracy, answers = run_qa(graph, questions)
    linking = measure_linking(graph)
    worst = {how: _worst(by_type) for how, by_type in latencies.items()}
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for r in answers:
        by_kind[f"{r['kind']}/{r['lang']}"].append(r["ok"])
    metrics = {
        "build_s": build["build_s"],
        "memory_mb": build["memory_mb"],
        "query_p95_ms": latencies["paced"][worst["paced"]]["p95_ms"],
        "qa_accuracy": round(accuracy, 4),
        "query_p95_back_to_back_ms": latencies["back_to_back"][worst["back_to_back"]]["p95_ms"],
        "query_p95_cpu_ms": latencies["cpu"][worst["cpu"]]["p95_ms"],
        "link_p95_ms": linking["link_p95_ms"],
        "link_recall": linking["link_recall"],
    }
    details = {
        "products": len(graph.products),
        "nodes": graph.graph.number_of_nodes(),
        "edges": graph.graph.number_of_edges(),
        "build": build,
        "worst_query_type": worst,
        "latency_by_type": latencies,
        "load_average_1min": {"before_queries": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "note": "2 cores shared with other engineers' jobs. query_p95_ms: wall clock of queries arriving one at a "
        f"time ({PAUSE_S * 1000:g} ms apart), as requests reach the action server; back_to_back: the same "
        "queries in a busy loop, whose tail is preemption by other processes; cpu: the query's own cost.",
        "qa_questions": len(answers),
        "qa_by_kind": {k: round(sum(v) / len(v), 3) for k, v in sorted(by_kind.items())},
        "qa_failures": [
            {k: r[k] for k in ("q", "lang", "kind", "kind_got", "expected", "got")}
            for r in answers
            if not r["ok"]
        ],
        "linking": linking,
        "targets": {"build_s": 10, "query_p95_ms": 5, "qa_accuracy": 0.95, "link_p95_ms": 2},
        "percentile_method": percentile.__doc__,
    }
    write_result("kg", metrics, details)


if __name__ == "__main__":
    main()
