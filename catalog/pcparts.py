"""Import of the PC part data (pcpartpicker_parts.jsonl.gz): every priced part becomes a Product
with a stable SKU, a brand from the curated list, a Best Buy category and typed attributes in
canonical units (MHz, GB, W, mm, inch, Hz, ms, dB, …; see data/catalog/attributes.yaml)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from catalog.models import Product
from catalog.reference import brand_matcher, cpu_socket, motherboard_memory_type, part_types

PC_PARTS_FILE = Path("catalog_supplementary") / "pcpartpicker_parts.jsonl.gz"
# Fields that vary between listings of the same item and so must not enter its identity.
VOLATILE_FIELDS = frozenset({"price", "price_per_gb"})


def stable_sku(raw: dict[str, Any]) -> str:
    """ "PC-" + 10 hex digits of a hash of the part's identity (type, name, all descriptive fields,
    not the price): re-importing the same data, or new prices, gives the same SKU."""
    identity = {k: v for k, v in raw.items() if k not in VOLATILE_FIELDS}
    digest = hashlib.sha1(json.dumps(identity, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return "PC-" + digest[:10].upper()


def _num(value: Any) -> float | int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() else float(value)
    return None


def _mhz(ghz: Any) -> int | None:
    value = _num(ghz)
    return None if value is None else int(round(value * 1000))


def _range(value: Any) -> tuple[float | None, float | None]:
    """A number or a [min, max] pair -> (min, max)."""
    if isinstance(value, list) and len(value) == 2:
        return _num(value[0]), _num(value[1])
    return _num(value), _num(value)


def _text(value: Any) -> str | None:
    if value is None or value is False:
        return None
    text = str(value).strip()
    return text or None


def _colour(raw: dict[str, Any]) -> dict[str, Any]:
    colour = _text(raw.get("color"))
    return {"color": colour} if colour else {}


def resolution_label(height: int | None) -> str | None:
    return {
        720: "720p",
        1080: "1080p",
        1200: "1200p",
        1440: "1440p",
        1600: "1600p",
        2160: "4K",
        2880: "5K",
        4320: "8K",
    }.get(height or 0)


def _cpu(raw: dict[str, Any]) -> dict[str, Any]:
    graphics = _text(raw.get("graphics"))
    return {
        "core_count": _num(raw.get("core_count")),
        "core_clock": _mhz(raw.get("core_clock")),
        "boost_clock": _mhz(raw.get("boost_clock")),
        "microarchitecture": _text(raw.get("microarchitecture")),
        "socket": cpu_socket(raw.get("microarchitecture"), raw["name"]),
        "tdp": _num(raw.get("tdp")),
        "integrated_graphics": graphics,
        "has_integrated_graphics": graphics is not None,
        "smt": raw.get("smt") if isinstance(raw.get("smt"), bool) else None,
    }


def _cooler(raw: dict[str, Any]) -> dict[str, Any]:
    rpm_min, rpm_max = _range(raw.get("rpm"))
    noise_min, noise_max = _range(raw.get("noise_level"))
    size = _num(raw.get("size"))
    return {
        "fan_rpm": rpm_max,
        "noise_level": noise_max,
        "radiator_size": size,
        "cooler_type": "liquid" if size else "air",
        **_colour(raw),
    }


def _motherboard(raw: dict[str, Any]) -> dict[str, Any]:
    socket = _text(raw.get("socket"))
    return {
        "socket": socket,
        "form_factor": _text(raw.get("form_factor")),
        "memory_type": motherboard_memory_type(socket, raw["name"]),
        "max_memory": _num(raw.get("max_memory")),
        "memory_slots": _num(raw.get("memory_slots")),
        "wifi": bool(re.search(r"(?i)wi-?fi|\bAX\b|\bAC\b|/ac\b", raw["name"])),
        **_colour(raw),
    }


def _memory(raw: dict[str, Any]) -> dict[str, Any]:
    ddr, speed = (raw.get("speed") or [None, None])[:2]
    count, size = (raw.get("modules") or [None, None])[:2]
    return {
        "memory_type": f"DDR{int(ddr)}" if ddr else None,
        "speed": _num(speed),
        "module_count": _num(count),
        "module_size": _num(size),
        "capacity": _num(count * size) if count and size else None,
        "cas_latency": _num(raw.get("cas_latency")),
        "first_word_latency": _num(raw.get("first_word_latency")),
        "price_per_gb": _num(raw.get("price_per_gb")),
        **_colour(raw),
    }


def _drive(raw: dict[str, Any]) -> dict[str, Any]:
    kind = raw.get("type")
    form = _text(raw.get("form_factor"))
    interface = _text(raw.get("interface"))
    return {
        "capacity": _num(raw.get("capacity")),
        "price_per_gb": _num(raw.get("price_per_gb")),
        "storage_type": "SSD" if kind == "SSD" else ("HDD" if kind else None),
        "rpm": _num(kind) if kind != "SSD" else None,
        "cache": _num(raw.get("cache")),
        "form_factor": f'{form}"' if form and re.fullmatch(r"[\d.]+", form) else form,
        "interface": interface,
        "nvme": bool(interface and "PCIe" in interface),
    }


def _gpu(raw: dict[str, Any]) -> dict[str, Any]:
    chipset = _text(raw.get("chipset")) or ""
    maker = (
        "NVIDIA"
        if re.search(r"GeForce|Quadro|RTX|Titan", chipset, re.I)
        else "AMD"
        if re.search(r"Radeon|FirePro", chipset, re.I)
        else "Intel"
        if re.search(r"\bArc\b|Intel", chipset, re.I)
        else None
    )
    return {
        "chipset": chipset or None,
        "gpu_maker": maker,
        "memory": _num(raw.get("memory")),
        "core_clock": _num(raw.get("core_clock")),
        "boost_clock": _num(raw.get("boost_clock")),
        "length": _num(raw.get("length")),
        **_colour(raw),
    }


def _case(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "case_type": _text(raw.get("type")),
        "included_psu": _num(raw.get("psu")),
        "side_panel": _text(raw.get("side_panel")),
        "external_volume": _num(raw.get("external_volume")),
        "internal_35_bays": _num(raw.get("internal_35_bays")),
        **_colour(raw),
    }


def _psu(raw: dict[str, Any]) -> dict[str, Any]:
    modular = raw.get("modular")
    efficiency = _text(raw.get("efficiency"))
    return {
        "form_factor": _text(raw.get("type")),
        "wattage": _num(raw.get("wattage")),
        "efficiency": ("80+ " + efficiency.title()).replace("80+ Plus", "80+") if efficiency else None,
        "modular": "Non-modular" if modular is False else _text(modular),
        **_colour(raw),
    }


def _monitor(raw: dict[str, Any]) -> dict[str, Any]:
    width, height = (raw.get("resolution") or [None, None])[:2]
    return {
        "screen_size": _num(raw.get("screen_size")),
        "resolution_width": _num(width),
        "resolution_height": _num(height),
        "resolution": resolution_label(_num(height)),
        "refresh_rate": _num(raw.get("refresh_rate")),
        "response_time": _num(raw.get("response_time")),
        "panel_type": _text(raw.get("panel_type")),
        "aspect_ratio": _text(raw.get("aspect_ratio")),
    }


def _headphones(raw: dict[str, Any]) -> dict[str, Any]:
    low, high = _range(raw.get("frequency_response"))
    return {
        "headphone_type": _text(raw.get("type")),
        "microphone": bool(raw.get("microphone")),
        "wireless": bool(raw.get("wireless")),
        "enclosure_type": _text(raw.get("enclosure_type")),
        "frequency_low": low,
        "frequency_high": high,
        **_colour(raw),
    }


def _keyboard(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "style": _text(raw.get("style")),
        "switches": _text(raw.get("switches")),
        "backlit": _text(raw.get("backlit")),
        "tenkeyless": bool(raw.get("tenkeyless")),
        "connection_type": _text(raw.get("connection_type")),
        "wireless": "Wireless" in (raw.get("connection_type") or ""),
        **_colour(raw),
    }


def _mouse(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "tracking_method": _text(raw.get("tracking_method")),
        "connection_type": _text(raw.get("connection_type")),
        "wireless": "Wireless" in (raw.get("connection_type") or ""),
        "max_dpi": _num(raw.get("max_dpi")),
        "hand_orientation": _text(raw.get("hand_orientation")),
        **_colour(raw),
    }


def _speakers(raw: dict[str, Any]) -> dict[str, Any]:
    low, high = _range(raw.get("frequency_response"))
    return {
        "channels": _num(raw.get("configuration")),
        "wattage": _num(raw.get("wattage")),
        "frequency_low": low,
        "frequency_high": high,
        **_colour(raw),
    }


def _webcam(raw: dict[str, Any]) -> dict[str, Any]:
    resolutions = [str(r) for r in raw.get("resolutions") or []]
    return {
        "max_resolution": resolutions[0] if resolutions else None,
        "resolutions": resolutions or None,
        "connection": _text(raw.get("connection")),
        "focus_type": _text(raw.get("focus_type")),
        "fov": _num(raw.get("fov")),
    }


def _case_fan(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "fan_size": _num(raw.get("size")),
        "fan_rpm": _range(raw.get("rpm"))[1],
        "airflow": _range(raw.get("airflow"))[1],
        "noise_level": _range(raw.get("noise_level"))[1],
        "pwm": bool(raw.get("pwm")),
        **_colour(raw),
    }


def _copy(*fields: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def extract(raw: dict[str, Any]) -> dict[str, Any]:
        return {f: (_num(raw.get(f)) if _num(raw.get(f)) is not None else _text(raw.get(f))) for f in fields}

    return extract


def _optical(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "bd_read_speed": _num(raw.get("bd")),
        "dvd_read_speed": _num(raw.get("dvd")),
        "cd_read_speed": _num(raw.get("cd")),
        "bd_write": _text(raw.get("bd_write")),
        "dvd_write": _text(raw.get("dvd_write")),
        "cd_write": _text(raw.get("cd_write")),
    }


def _os(raw: dict[str, Any]) -> dict[str, Any]:
    mode = raw.get("mode")
    bits = mode if isinstance(mode, list) else [mode] if mode else []
    return {"bits": "/".join(f"{b}-bit" for b in bits) or None, "max_memory": _num(raw.get("max_memory"))}


def _external(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "drive_type": _text(raw.get("type")),
        "interface": _text(raw.get("interface")),
        "capacity": _num(raw.get("capacity")),
        "price_per_gb": _num(raw.get("price_per_gb")),
        **_colour(raw),
    }


EXTRACTORS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "cpu": _cpu,
    "cpu-cooler": _cooler,
    "motherboard": _motherboard,
    "memory": _memory,
    "internal-hard-drive": _drive,
    "video-card": _gpu,
    "case": _case,
    "power-supply": _psu,
    "monitor": _monitor,
    "headphones": _headphones,
    "keyboard": _keyboard,
    "mouse": _mouse,
    "speakers": _speakers,
    "webcam": _webcam,
    "case-fan": _case_fan,
    "optical-drive": _optical,
    "os": _os,
    "external-hard-drive": _external,
    "sound-card": _copy("channels", "digital_audio", "snr", "sample_rate", "chipset", "interface"),
    "wired-network-card": _copy("interface", "color"),
    "wireless-network-card": _copy("protocol", "interface", "color"),
    "case-accessory": _copy("type", "form_factor"),
    "fan-controller": _copy("channels", "channel_wattage", "pwm", "form_factor", "color"),
    "thermal-paste": _copy("amount"),
    "ups": _copy("capacity_w", "capacity_va"),
}


def display_name(raw: dict[str, Any]) -> str:
    """The source names many graphics cards only by the board maker's line ("MSI VENTUS 2X BLACK
    OC"); shoppers look for the chipset, so it is appended when the name lacks it. A brand the
    source repeats ("Acer Acer Nitro") is written once."""
    words = raw["name"].split()
    if len(words) > 2 and words[0].lower() == words[1].lower():  # "Acer Acer Nitro …" in the source
        words = words[1:]
    name = " ".join(words)
    chipset = _text(raw.get("chipset")) if raw.get("part_type") == "video-card" else None
    if chipset:
        core = re.sub(r"\s*\d+\s*GB$", "", chipset)
        model = core.split()[-1].lower() if core.split() else ""
        if model and model not in name.lower():
            name = f"{name} ({core})"
    return name


def category_for(part_type: str, attributes: dict[str, Any]) -> str:
    """Best Buy category of a part: the type's default, refined by the rules in part_types.yaml."""
    spec = part_types()[part_type]
    for rule in spec.get("rules", []):
        value = attributes.get(rule["attribute"])
        if (
            ("equals" in rule and value == rule["equals"])
            or ("present" in rule and (value is not None) == rule["present"])
            or ("contains" in rule and isinstance(value, str) and rule["contains"] in value)
        ):
            return rule["category"]
    return spec["category"]


_UNPRICED = '"price": null'


def iter_raw(data_dir: Path, priced_only: bool = False) -> Iterator[dict[str, Any]]:
    """Every record of the PC part file. `priced_only` skips, before parsing, the lines whose only
    price field is null (three quarters of the file): the import's largest cost is JSON parsing."""
    path = data_dir / PC_PARTS_FILE
    if not path.exists():
        raise FileNotFoundError(f"PC part catalogue not found: {path}")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if priced_only and _UNPRICED in line and line.count('"price"') == 1:
                continue
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{line_no}: not valid JSON ({exc})") from exc


def load_pc_parts(data_dir: Path) -> list[Product]:
    """Every priced part; listings identical in all but price collapse into one SKU at the lowest
    price (the data holds ~450 such duplicates, indistinguishable to a shopper)."""
    matcher = brand_matcher()
    types = part_types()
    by_sku: dict[str, Product] = {}
    for raw in iter_raw(data_dir, priced_only=True):
        price = _num(raw.get("price"))
        if price is None or price <= 0:
            continue
        part_type = raw.get("part_type")
        if part_type not in types:
            raise ValueError(
                f"unknown part_type {part_type!r} for {raw.get('name')!r}; add it to data/catalog/part_types.yaml"
            )
        attributes = {k: v for k, v in EXTRACTORS[part_type](raw).items() if v is not None}
        sku = stable_sku(raw)
        if sku in by_sku and by_sku[sku].price <= price:
            continue
        name = display_name(raw)
        by_sku[sku] = Product(
            sku=sku,
            name=name,
            brand=matcher.match(name),
            price=float(price),
            category_id=category_for(part_type, attributes),
            part_type=part_type,
            attributes=attributes,
        )
    return list(by_sku.values())
