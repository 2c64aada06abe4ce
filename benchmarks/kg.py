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
from typing import Any, Callable

from benchmarks.common import percentile, summarise_ms, write_result

REPEATS = 30


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure_build() -> tuple[Any, dict[str, float]]:
    """Full build from the shop files (no cache): import + graph + indexes + similarity."""
    import catalog
    from knowledge_graph.graph import build_graph, load_graph

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
    cached = load_graph(source="files")   # writes the cache when missing (what a restart loads)
    load_s = time.perf_counter() - started_cache
    started_cache = time.perf_counter()
    cached = load_graph(source="files")
    return cached, {"build_s": round(built - started, 2), "build_cpu_s": round(built_cpu - started_cpu, 2), "import_s": round(imported - started, 2),
                    "graph_s": round(built - imported, 2), "memory_mb": round(after - before, 1),
                    "cache_first_load_s": round(load_s, 2), "cache_load_s": round(time.perf_counter() - started_cache, 2),
                    "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


# --- fixed query set ---------------------------------------------------------------------------------

SEARCH_TEXTS = [
    "an AMD CPU under $300", "300美元以下的AMD处理器", "DDR5 memory at least 32 GB", "27 inch 1440p monitor 144 Hz or more",
    "144Hz以上的2K显示器", "cheapest 1TB NVMe SSD", "Corsair 850W gold fully modular power supply",
    "wireless mouse from Logitech under 50 dollars", "NVIDIA graphics card between $300 and $600", "AM5 motherboard",
    "mini itx case white", "32GB内存 DDR5 海盗船", "华硕主板 500美元以内", "RTX 4070 graphics card", "AMD CPU under $20",
    "Noctua cpu cooler", "机械键盘 100美元以下", "headphones with a microphone", "4K monitor", "移动硬盘 4TB",
]


def _unique_named(graph, part_type: str, key: str | None, n: int) -> list:
    """The n most popular products of a type whose name is unique in the catalogue and that have
    the attribute asked about — so the expected answer is unambiguous."""
    names = Counter(p.name for p in graph.products.values())
    out = []
    for sku in graph.by_part_type.get(part_type, []):
        p = graph.products[sku]
        if names[p.name] == 1 and (key is None or key in p.attributes) and len(p.name.split()) >= 2:
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


def qa_set(graph) -> list[dict[str, Any]]:
    """≥ 40 questions (English and Chinese) with answers computed straight from the records."""
    items: list[dict[str, Any]] = []
    for part_type, key, en, zh in ATTRIBUTE_TEMPLATES:
        for p in _unique_named(graph, part_type, None if key == "price" else key, 2):
            expected = p.price if key == "price" else p.attributes[key]
            items.append({"q": en.format(name=p.name), "lang": "en", "kind": "attribute", "expected": expected, "sku": p.sku})
            items.append({"q": zh.format(name=p.name), "lang": "zh", "kind": "attribute", "expected": expected, "sku": p.sku})
    cpus = _unique_named(graph, "cpu", "socket", 6)
    boards = _unique_named(graph, "motherboard", "socket", 6)
    for cpu, board in zip(cpus, reversed(boards)):
        expected = cpu.attributes["socket"] == board.attributes["socket"]
        items.append({"q": f"Will the {cpu.name} fit the {board.name}?", "lang": "en", "kind": "compatibility", "expected": expected})
        items.append({"q": f"{cpu.name}和{board.name}兼容吗？", "lang": "zh", "kind": "compatibility", "expected": expected})
    for brand, budget in (("AMD", 300), ("Intel", 200), ("AMD", 150)):
        pool = [p for p in graph.products.values() if p.part_type == "cpu" and p.brand == brand and p.price <= budget]
        cheapest = min(pool, key=lambda p: p.price).price
        zh_brand = {"AMD": "AMD", "Intel": "英特尔"}[brand]
        items.append({"q": f"cheapest {brand} CPU under ${budget}", "lang": "en", "kind": "search", "expected": cheapest})
        items.append({"q": f"{budget}美元以下最便宜的{zh_brand}处理器", "lang": "zh", "kind": "search", "expected": cheapest})
    return items


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-6)
    return a == b


def run_qa(graph) -> tuple[float, list[dict[str, Any]]]:
    from knowledge_graph.api import answer

    results = []
    for item in qa_set(graph):
        a = answer(graph, item["q"], item["lang"])
        if item["kind"] == "search":
            got = a.value.items[0].price if a.kind == "search" and a.value.items else None
        else:
            got = a.value
        ok = a.kind == item["kind"] and _same(got, item["expected"])
        if item["kind"] == "attribute":
            ok = ok and a.skus[:1] == (item["sku"],)
        results.append({**item, "got": got if not hasattr(got, "items") else None, "kind_got": a.kind, "ok": ok})
    return sum(r["ok"] for r in results) / len(results), results


def query_latencies(graph) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """p50/p95 per query type over the fixed set, after one warm-up pass: wall clock, and the
    thread's CPU time (what the query itself costs when other processes share the cores)."""
    from knowledge_graph import api
    from knowledge_graph.parse import parse_search
    from knowledge_graph.search import search

    cpus = _unique_named(graph, "cpu", "socket", 5)
    boards = _unique_named(graph, "motherboard", "socket", 5)
    mixed = [graph.products[s] for t in ("cpu", "motherboard", "memory", "video-card", "monitor", "power-supply",
                                         "case", "cpu-cooler") for s in graph.by_part_type[t][:3]]
    parsed = [parse_search(graph, t).query for t in SEARCH_TEXTS]
    questions = [item["q"] for item in qa_set(graph)][::3]
    work: dict[str, list[Callable[[], Any]]] = {
        "search_typed": [lambda q=q: search(graph, q) for q in parsed],
        "search_text": [lambda t=t: search(graph, parse_search(graph, t).query) for t in SEARCH_TEXTS],
        "details": [lambda p=p: api.details(graph, p.sku, "zh") for p in mixed],
        "attribute": [lambda p=p: api.attribute_answer(graph, p.sku, "price") for p in mixed],
        "compare": [lambda a=a, b=b: api.compare(graph, [a.sku, b.sku]) for a, b in zip(cpus, cpus[1:])],
        "compatibility": [lambda a=a, b=b: api.compatibility(graph, a.sku, b.sku) for a in cpus for b in boards],
        "what_fits": [lambda p=p: api.compatible_with(graph, p.sku, limit=5) for p in mixed],
        "similar": [lambda p=p, m=m: api.similar(graph, p.sku, m) for p in mixed for m in ("similar", "cheaper", "better")],
        "accessories": [lambda p=p: api.accessories(graph, p.sku) for p in mixed],
        "question": [lambda q=q: api.answer(graph, q) for q in questions],
    }
    wall: dict[str, dict[str, float]] = {}
    cpu: dict[str, dict[str, float]] = {}
    for name, calls in work.items():
        for call in calls:
            call()
        wall_samples, cpu_samples = [], []
        for _ in range(max(1, REPEATS // 3)):
            for call in calls:
                started, started_cpu = time.perf_counter(), time.thread_time()
                call()
                cpu_samples.append(time.thread_time() - started_cpu)
                wall_samples.append(time.perf_counter() - started)
        wall[name] = summarise_ms(wall_samples)
        cpu[name] = summarise_ms(cpu_samples)
    return wall, cpu


def main() -> None:
    graph, build = measure_build()
    load_before = os.getloadavg()[0]
    latencies, cpu_latencies = query_latencies(graph)
    accuracy, answers = run_qa(graph)
    worst = max(latencies, key=lambda k: latencies[k]["p95_ms"])
    worst_cpu = max(cpu_latencies, key=lambda k: cpu_latencies[k]["p95_ms"])
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for r in answers:
        by_kind[f"{r['kind']}/{r['lang']}"].append(r["ok"])
    metrics = {"build_s": build["build_s"], "memory_mb": build["memory_mb"],
               "query_p95_ms": latencies[worst]["p95_ms"], "qa_accuracy": round(accuracy, 4),
               "query_p95_cpu_ms": cpu_latencies[worst_cpu]["p95_ms"]}
    details = {
        "products": len(graph.products), "nodes": graph.graph.number_of_nodes(), "edges": graph.graph.number_of_edges(),
        "build": build, "worst_query_type": worst, "latency_by_type": latencies,
        "worst_query_type_cpu": worst_cpu, "cpu_latency_by_type": cpu_latencies,
        "load_average_1min": {"before_queries": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "note": "2 cores shared with other engineers' jobs: wall-clock includes waiting for a core; "
                "CPU time is the query's own cost.",
        "qa_questions": len(answers), "qa_by_kind": {k: round(sum(v) / len(v), 3) for k, v in sorted(by_kind.items())},
        "qa_failures": [{k: r[k] for k in ("q", "lang", "kind", "kind_got", "expected", "got")} for r in answers if not r["ok"]],
        "targets": {"build_s": 10, "query_p95_ms": 5, "qa_accuracy": 0.95},
        "percentile_method": percentile.__doc__,
    }
    write_result("kg", metrics, details)


if __name__ == "__main__":
    main()
