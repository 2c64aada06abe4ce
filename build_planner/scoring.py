"""Purpose profiles and part scores (data/build/profiles.yaml, data/build/gpu_tiers.yaml).

A part's score is 0–100 (a little more for parts beyond the reference); a build's score is the
purpose-weighted sum of its parts' scores, so it is 0–100 too. Scores are concave where more stops
helping (memory and storage beyond the purpose's target score no higher), so spending the whole
budget on one role never wins by accident. docs/build.md explains every formula."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from catalog.models import Product
from daogou.config import ROOT

DATA_DIR = ROOT / "data" / "build"


@cache
def load(name: str) -> Any:
    with (DATA_DIR / name).open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def profiles() -> dict[str, Any]:
    return load("profiles.yaml")


ROLES: tuple[str, ...] = tuple(profiles()["roles"])


def part_type_of(role: str) -> str:
    return profiles()["part_types"].get(role, role)


def role_of(product: Product) -> str | None:
    by_type = {part_type_of(r): r for r in ROLES}
    return by_type.get(product.part_type or "")


@dataclass(frozen=True)
class Purpose:
    key: str
    en: str
    zh: str
    weights: Mapping[str, float]
    cpu_single: float
    cpu_multi: float
    memory_gb: float
    storage_gb: float
    split: Mapping[str, float]
    integrated_graphics_ok: bool
    case_types: tuple[str, ...]
    cooler_always: bool

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def emphasised(self, emphasis: Mapping[str, int]) -> Purpose:
        """The same purpose with some roles' weights multiplied by 1.5 per step (negative steps
        divide), renormalised: "more GPU, less CPU" is {video-card: +1, cpu: -1}."""
        if not emphasis:
            return self
        raw = {r: w * 1.5 ** emphasis.get(r, 0) for r, w in self.weights.items()}
        total = sum(raw.values())
        return Purpose(**{**self.__dict__, "weights": {r: w / total for r, w in raw.items()}})


def purpose(key: str) -> Purpose:
    key = normalise_purpose(key)
    spec = profiles()["purposes"][key]
    return Purpose(
        key=key,
        en=spec["en"],
        zh=spec["zh"],
        weights=dict(spec["weights"]),
        cpu_single=spec["cpu_mix"]["single"],
        cpu_multi=spec["cpu_mix"]["multi"],
        memory_gb=spec["memory_gb"],
        storage_gb=spec["storage_gb"],
        split=dict(spec["split"]),
        integrated_graphics_ok=bool(spec.get("integrated_graphics_ok")),
        case_types=tuple(spec.get("case_types", ())),
        cooler_always=spec.get("cooler") == "always",
    )


def purposes() -> tuple[str, ...]:
    return tuple(profiles()["purposes"])


def normalise_purpose(text: str) -> str:
    """A purpose key from its key or one of its names ("video editing", "游戏")."""
    wanted = text.strip().lower()
    if wanted in profiles()["purposes"]:
        return wanted
    for key, names in profiles()["purpose_aliases"].items():
        if wanted in (n.lower() for n in names):
            return key
    raise ValueError(f"unknown purpose {text!r}; known: {', '.join(purposes())}")


# --- part scores -----------------------------------------------------------------------------------


def _clock_ghz(cpu: Product) -> float:
    a = cpu.attributes
    return float(a.get("boost_clock") or a.get("core_clock") or 2000) / 1000.0


def cpu_single(cpu: Product) -> float:
    ipc = profiles()["ipc"]
    return _clock_ghz(cpu) * float(ipc.get(cpu.attributes.get("microarchitecture") or "", ipc["default"]))


def cpu_multi(cpu: Product) -> float:
    return cpu_single(cpu) * float(cpu.attributes.get("core_count") or 2) ** 0.85


def g3d(chipset: str | None, integrated: bool = False) -> int:
    tiers = load("gpu_tiers.yaml")
    table = tiers["integrated" if integrated else "discrete"]
    return int(table.get(chipset or "", tiers["default_integrated" if integrated else "default_discrete"]))


def integrated_graphics_score(cpu: Product) -> float:
    """Graphics score of a CPU's own graphics (0 when it has none)."""
    name = cpu.attributes.get("integrated_graphics")
    if not name:
        return 0.0
    return 100.0 * g3d(name, integrated=True) / profiles()["reference"]["gpu_g3d"]


def _storage_kind(drive: Product) -> str:
    a = drive.attributes
    if a.get("storage_type") == "SSD":
        return "nvme" if a.get("nvme") else "ssd"
    return "hdd"


def _quietness(cooler: Product) -> float:
    spec = profiles()["cooler_noise"]
    noise = cooler.attributes.get("noise_level")
    if noise is None:
        return spec["unknown"]
    return min(1.0, max(0.0, (spec["loud_db"] - float(noise)) / (spec["loud_db"] - spec["quiet_db"])))


def part_score(product: Product, role: str, p: Purpose) -> float:
    """0–100 (slightly more beyond the reference) for one part in one purpose."""
    ref = profiles()["reference"]
    a = product.attributes
    if role == "cpu":
        return 100.0 * (
            p.cpu_single * cpu_single(product) / ref["cpu_single"]
            + p.cpu_multi * cpu_multi(product) / ref["cpu_multi"]
        )
    if role == "video-card":
        return 100.0 * g3d(a.get("chipset")) / ref["gpu_g3d"]
    if role == "memory":
        capacity = float(a.get("capacity") or 0)
        speed_ref = ref["memory_speed"].get(a.get("memory_type") or "", 1000)
        speed = min(float(a.get("speed") or speed_ref) / speed_ref, 1.2)
        return 100.0 * min(capacity, p.memory_gb) / p.memory_gb * (0.85 + 0.15 * speed)
    if role == "storage":
        capacity = float(a.get("capacity") or 0)
        return (
            100.0
            * profiles()["storage_type_factor"][_storage_kind(product)]
            * min(capacity, p.storage_gb)
            / p.storage_gb
        )
    if role == "power-supply":
        factors = profiles()["psu_efficiency_factor"]
        return 100.0 * factors.get(a.get("efficiency") or "none", factors["none"])
    if role == "motherboard":
        return 100.0 if a.get("wifi") else 60.0
    if role == "cpu-cooler":
        return 100.0 * _quietness(product)
    return 100.0  # case: no performance of its own


def storage_kind(drive: Product) -> str:
    return _storage_kind(drive)


def build_score(parts: Mapping[str, Product | None], p: Purpose) -> float:
    """The purpose score of a set of parts (role → product; a missing graphics card counts the
    CPU's integrated graphics). Independent of how the parts were chosen: the benchmark scores
    the planner's and the greedy baseline's builds with it."""
    total = 0.0
    for role, weight in p.weights.items():
        part = parts.get(role)
        if part is not None:
            total += weight * part_score(part, role, p)
        elif role == "video-card" and parts.get("cpu") is not None:
            total += weight * integrated_graphics_score(parts["cpu"])
    return total
