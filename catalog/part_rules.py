"""Compatibility of PC parts, with reasons a shopper can read (English and Chinese).

Rules: CPU socket = motherboard socket; memory generation = the board's; the case accepts the
board's form factor; a cooler fits a socket when its name ties it to a mounting family (otherwise
unknown); the power supply covers the estimated system draw (CPU TDP + GPU board power + base,
with headroom; data/catalog/gpu_power.yaml)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from catalog.models import Product
from catalog.reference import load_yaml


@dataclass(frozen=True)
class Reason:
    code: str
    ok: bool | None  # True fits, False conflict, None unknown
    en: str
    zh: str

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Compatibility:
    """compatible: True (all checked rules pass), False (a rule fails), None (no rule applies or
    the data cannot tell)."""

    skus: tuple[str, str]
    compatible: bool | None
    reasons: tuple[Reason, ...] = field(default_factory=tuple)

    def text(self, lang: str) -> str:
        return " ".join(r.text(lang) for r in self.reasons)


@lru_cache(maxsize=1)
def _tables() -> dict:
    return load_yaml("compatibility.yaml")


@lru_cache(maxsize=1)
def _gpu_rules() -> tuple[dict, list[tuple[re.Pattern[str], int]]]:
    data = load_yaml("gpu_power.yaml")
    return data, [(re.compile(r["chipset"]), int(r["watts"])) for r in data["rules"]]


def case_form_factors(case_type: str | None) -> tuple[str, ...]:
    return tuple(_tables()["case_form_factors"].get(case_type or "", ()))


def case_types_for(form_factor: str) -> tuple[str, ...]:
    """Case types a shopper means by "an ATX / micro ATX / mini ITX case": those whose largest
    board is that size (ATX also includes full towers, which take E-ATX)."""
    table = _tables()["case_form_factors"]
    sizes = ("EATX", "ATX") if form_factor == "ATX" else (form_factor,)
    return tuple(ct for ct, ffs in table.items() if ffs and ffs[0] in sizes)


def cooler_sockets(cooler: Product) -> tuple[str, ...]:
    """Sockets a cooler fits, when its name ties it to one; () means unknown."""
    for rule in _tables()["cooler_name_sockets"]:
        if re.search(rule["name"], cooler.name):
            return mount_family(rule["socket"])
    return ()


def mount_family(socket: str) -> tuple[str, ...]:
    for family in _tables()["cooler_mount_families"]:
        if socket in family:
            return tuple(family)
    return (socket,)


def gpu_power(chipset: str | None) -> int:
    data, rules = _gpu_rules()
    for pattern, watts in rules:
        if chipset and pattern.search(chipset):
            return watts
    return int(data["default"])


def system_base_w() -> float:
    """Draw of everything but CPU and GPU (board, memory, drives, fans)."""
    return float(_gpu_rules()[0]["system_base_w"])


def recommended_psu(cpu_tdp: float | None, gpu_watts: float | None) -> int:
    """(CPU TDP + GPU power + base) × headroom, rounded up to 50 W."""
    draw = (cpu_tdp or 0) + (gpu_watts or 0) + system_base_w()
    return int(math.ceil(draw * float(_gpu_rules()[0]["headroom"]) / 50.0) * 50)


def estimated_draw(parts: Iterable[Product]) -> tuple[float, float]:
    """(CPU TDP, GPU power) of the parts given; typical values stand in for a missing CPU / GPU."""
    parts = list(parts)
    cpu = next((p for p in parts if p.part_type == "cpu"), None)
    gpu = next((p for p in parts if p.part_type == "video-card"), None)
    cpu_w = float(cpu.attributes.get("tdp", 105)) if cpu else 105.0
    gpu_w = float(gpu_power(gpu.attributes.get("chipset"))) if gpu else 0.0
    return cpu_w, gpu_w


def _pair(a: Product, b: Product, x: str, y: str) -> tuple[Product, Product] | None:
    if a.part_type == x and b.part_type == y:
        return a, b
    if a.part_type == y and b.part_type == x:
        return b, a
    return None


def check(a: Product, b: Product) -> Compatibility:
    """Whether two parts work together, and why."""
    reasons: list[Reason] = []
    if pair := _pair(a, b, "cpu", "motherboard"):
        cpu, board = pair
        cs, bs = cpu.attributes.get("socket"), board.attributes.get("socket")
        if cs and bs:
            ok = cs == bs
            reasons.append(
                Reason(
                    "socket",
                    ok,
                    f"{cpu.name} uses socket {cs} and {board.name} has socket {bs}"
                    + ("." if ok else ", so it does not fit."),
                    f"{cpu.name}使用{cs}插槽，{board.name}是{bs}插槽"
                    + ("，可以搭配。" if ok else "，两者不兼容。"),
                )
            )
    elif pair := _pair(a, b, "memory", "motherboard"):
        ram, board = pair
        rt, bt = ram.attributes.get("memory_type"), board.attributes.get("memory_type")
        if rt and bt:
            ok = rt == bt
            reasons.append(
                Reason(
                    "memory_type",
                    ok,
                    f"{ram.name} is {rt} and {board.name} takes {bt}"
                    + ("." if ok else ", so it does not fit."),
                    f"{ram.name}是{rt}内存，{board.name}支持{bt}"
                    + ("，可以搭配。" if ok else "，两者不兼容。"),
                )
            )
        cap, max_mem = ram.attributes.get("capacity"), board.attributes.get("max_memory")
        if cap and max_mem and cap > max_mem:
            reasons.append(
                Reason(
                    "max_memory",
                    False,
                    f"The kit has {cap} GB but the board supports at most {max_mem} GB.",
                    f"这套内存共{cap}GB，超过主板最大支持的{max_mem}GB。",
                )
            )
        slots, modules = board.attributes.get("memory_slots"), ram.attributes.get("module_count")
        if slots and modules and modules > slots:
            reasons.append(
                Reason(
                    "memory_slots",
                    False,
                    f"The kit has {modules} modules but the board has only {slots} slots.",
                    f"这套内存有{modules}条，主板只有{slots}个插槽。",
                )
            )
    elif pair := _pair(a, b, "case", "motherboard"):
        case, board = pair
        ff, ct = board.attributes.get("form_factor"), case.attributes.get("case_type")
        accepted = case_form_factors(ct)
        if ff and accepted:
            ok = ff in accepted
            reasons.append(
                Reason(
                    "form_factor",
                    ok,
                    f"{case.name} ({ct}) takes {', '.join(accepted)} boards; {board.name} is {ff}"
                    + ("." if ok else ", so it does not fit."),
                    f"{case.name}（{ct}）支持{'、'.join(accepted)}主板；{board.name}是{ff}板型"
                    + ("，装得下。" if ok else "，装不下。"),
                )
            )
    elif (pair := _pair(a, b, "cpu-cooler", "cpu")) or (pair := _pair(a, b, "cpu-cooler", "motherboard")):
        cooler, other = pair
        socket = other.attributes.get("socket")
        fits = cooler_sockets(cooler)
        if socket and fits:
            ok = socket in fits
            reasons.append(
                Reason(
                    "cooler_socket",
                    ok,
                    f"{cooler.name} is made for {', '.join(fits)}; {other.name} uses {socket}"
                    + ("." if ok else ", so it does not fit."),
                    f"{cooler.name}适用于{'、'.join(fits)}；{other.name}是{socket}插槽"
                    + ("，可以安装。" if ok else "，无法安装。"),
                )
            )
        elif socket:
            reasons.append(
                Reason(
                    "cooler_socket",
                    None,
                    f"Our data does not list the sockets {cooler.name} supports; please check its mounting kit for {socket}.",
                    f"我们的数据没有列出{cooler.name}支持的插槽，请确认它的扣具是否支持{socket}。",
                )
            )
    elif (pair := _pair(a, b, "power-supply", "video-card")) or (pair := _pair(a, b, "power-supply", "cpu")):
        psu, other = pair
        watts = psu.attributes.get("wattage")
        cpu_w, gpu_w = estimated_draw([other])
        need = recommended_psu(cpu_w, gpu_w)
        if watts:
            ok = watts >= need
            reasons.append(
                Reason(
                    "psu_wattage",
                    ok,
                    f"A system with {other.name} draws about {int(cpu_w + gpu_w + system_base_w())} W; we recommend at least {need} W and {psu.name} gives {watts} W"
                    + ("." if ok else ", which is not enough."),
                    f"搭配{other.name}的整机功耗约{int(cpu_w + gpu_w + system_base_w())}瓦，建议电源至少{need}瓦，{psu.name}为{watts}瓦"
                    + ("，够用。" if ok else "，功率不够。"),
                )
            )
    if not reasons:
        return Compatibility(
            (a.sku, b.sku),
            None,
            (
                Reason(
                    "no_rule",
                    None,
                    "These two products do not depend on each other, so there is nothing to check.",
                    "这两件商品之间没有需要匹配的规格。",
                ),
            ),
        )
    verdicts = [r.ok for r in reasons]
    compatible = False if False in verdicts else (None if None in verdicts else True)
    return Compatibility((a.sku, b.sku), compatible, tuple(reasons))
