"""PC builds in conversation: what a shopper's message asks of the build planner, and the reply.

A build request names a budget and a purpose ("a gaming PC for $1500", "8000元的游戏电脑"); a change
names what to move ("cheaper", "more GPU, less CPU", "switch to Intel", "I already have a case", "use
the 7700X", "all white", "why this board?"). Only what is missing is asked. The build shown last is
kept in the slot `build` as its request (budget, purpose, constraints, emphasis) and its parts, so a
change starts from it, "what changed" compares with the one before, and "the second one" points at
its second part. Shared here (not in the action module) because a bare answer to the question
("gaming", "about 1500") arrives as another intent and actions.understand completes it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import references, services
from actions.cards import card, product_cards
from actions.common import cart_lines, entity_values, identity, language
from build_planner import Build, Change, Constraints, Conversion, NoBuild, Request, diff, get_planner
from build_planner.planner import DESCRIBED, described_sku
from build_planner.scoring import normalise_purpose, part_type_of, profiles, purpose, role_of
from catalog import part_rules as compat
from catalog.models import Product
from daogou.config import get_settings
from knowledge_graph.graph import ProductGraph
from knowledge_graph.linker import link
from knowledge_graph.parse import AROUND_CEILING, AROUND_FLOOR, find_budget, parse_search
from knowledge_graph.vocab import format_price, part_type_name, tokens
from order_service.client import OrderServiceError

Events = list[dict[str, Any]]
SLOT = "build"
# Best Buy's "Desktop & All-in-One Computers": the shop sells no assembled desktop, so a search for
# one ("do you sell gaming PCs?") is answered with a build (data/catalog/category_variants.yaml)
COMPUTER_CATEGORIES = ("abcat0501000",)

# role words, both languages; "storage" is the planner's role for the system drive
_ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "cpu": ("cpu", "processor", "处理器", "cpu的"),
    "cpu-cooler": ("cooler", "cooling", "散热器", "散热"),
    "motherboard": ("motherboard", "mobo", "board", "主板"),
    "memory": ("memory", "ram", "内存"),
    "storage": ("storage", "ssd", "drive", "disk", "硬盘", "固态"),
    "video-card": ("gpu", "graphics", "video card", "显卡", "独显"),
    "power-supply": ("power supply", "psu", "电源"),
    "case": ("case", "chassis", "机箱"),
}
_MORE = r"(?:more|better|stronger|faster|bigger|upgrade|好一?点|更好|更强|强一?点|加强|升级|多一?点|大一?点)"
_LESS = r"(?:less|weaker|cheaper|smaller|差一?点|弱一?点|便宜一?点|少一?点|降一?点)"
_CHEAPER = re.compile(
    r"(?i)\b(?:cheaper|less expensive|lower the (?:cost|price)|save (?:some )?money|cut the cost)\b|便宜|省点|省钱|降低预算|少花"
)
_WHY = re.compile(r"(?i)\bwhy\b|为什么|为啥|干嘛选|凭什么")
_DIFF = re.compile(
    r"(?i)\bwhat(?:'s| is| has| did)?\s+(?:changed?|different)|\bdifferen(?:t|ce)s?\b|\bcompared? (?:to|with)|变化|有什么不同|区别|改了什么|变了什么"
)
_HAVE = re.compile(
    r"(?i)\b(?:i (?:already )?(?:have|own|got)|i've got|already have|keep my|reuse my|leave (?:it|that) out)\b|已经有|我有|不用买|不需要买|用我(?:自己)?的|保留"
)
_USE = re.compile(r"(?i)\b(?:use|with|put in|go with|switch to|swap (?:in|to)|instead)\b|换成|用|改成|换")
# a part named to go into the build ("use the 7700X"), as opposed to asking about it
_PUT_IN = re.compile(
    r"(?i)^\W*(?:(?:let's|can you|could you|please)\s+)?(?:use|go with|go for|put in|swap in|switch to)\b"
    r"|换成|改用|换上|就用"
)
_SWAP = re.compile(r"(?i)\b(?:change|swap|replace|another|different|other)\b|换个|换一个|换掉|另一个|别的")
# Latin words are delimited by letters only: Chinese characters count as word characters for \b ("换成AMD的")
_BRANDS = (
    ("cpu", "AMD", r"(?i)(?<![a-z])(?:amd|ryzen)(?![a-z])|锐龙|农企"),
    ("cpu", "Intel", r"(?i)(?<![a-z])(?:intel|core i\d)(?![a-z])|英特尔|酷睿"),
    ("video-card", "NVIDIA", r"(?i)(?<![a-z])(?:nvidia|geforce|rtx)(?![a-z])|英伟达|n卡"),
    ("video-card", "AMD", r"(?i)(?<![a-z])radeon(?![a-z])|a卡"),
)
_COLOURS = (
    ("white", r"(?i)(?<![a-z])white(?![a-z])|白色|全白|白的"),
    ("black", r"(?i)(?<![a-z])black(?![a-z])|黑色|全黑|黑的"),
)


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


_ONLY_AFTER_FOR = ("work", "home", "game", "games")


_BUILD_WORDS = re.compile(
    r"(?i)\b(?:pcs?|computers?|rigs?|builds?|desktops?|workstations?|towers?|parts? list|setup)\b"
    r"|装机|攒|电脑|主机|整机|配置|组装|配一台|装一台|工作站|小钢炮"
)


def names_a_build(text: str) -> bool:
    """Whether the message speaks of a whole computer or a build ("gaming PC", "装机", "配置单"), as
    opposed to a bare budget, which after a search narrows that search."""
    return bool(_BUILD_WORDS.search(text)) or find_purpose(text) is not None


def find_purpose(text: str) -> str | None:
    """The purpose a message names ("for video editing", "打游戏"), the longest alias first."""
    low = text.lower()
    found: list[tuple[int, str]] = []
    for key, names in profiles()["purpose_aliases"].items():
        for name in [key, *names]:
            name = str(name).lower()
            if name in _ONLY_AFTER_FOR:  # "for work", not "work out a build"
                hit = re.search(r"\bfor (?:my |the )?" + name + r"\b", low) is not None
            elif _chinese(name):
                hit = name in low
            else:
                hit = re.search(r"(?<![a-z])" + re.escape(name) + r"(?![a-z])", low) is not None
            if hit:
                found.append((len(name), key))
    return max(found)[1] if found else None


_BARE_AMOUNT = re.compile(r"(?<![\w.])(\d{3,6}(?:\.\d+)?)(?![\w.])")


def find_amount(
    text: str, bare: bool = False, tagged: Collection[str] = ()
) -> tuple[float | None, Conversion | None]:
    """The budget in US dollars ("about $1500" means 1500, not the search band around it), and the
    conversion when the shopper gave yuan. bare: a lone number counts too ("I can spend 2200" after
    the bot asked for the budget), in the message's currency; tagged: the lone numbers the NLU read as
    a price ("a streaming pc for 2000"), not a model number ("a 4070 build")."""
    budget = find_budget(text)
    if budget.low is None and budget.high is None and (bare or tagged):
        m = next((m for m in _BARE_AMOUNT.finditer(text) if bare or m.group(1) in tagged), None)
        if m:
            budget = find_budget(
                text[: m.start()] + ("预算" if _chinese(text) else "under ") + text[m.start() :]
            )
    low, high = budget.low, budget.high
    if low is not None and high is not None and abs(high / low - AROUND_CEILING / AROUND_FLOOR) < 1e-3:
        amount: float | None = round(high / AROUND_CEILING, 2)
    else:
        amount = high if high is not None else low
    conversion = None
    if amount is not None and budget.currency_note is not None:
        rate = get_settings().kg_cny_per_usd
        said, currency, _ = budget.currency_note
        conversion = Conversion(amount=said, currency=currency, rate=rate, usd=amount)
    return amount, conversion


def _roles_named(text: str) -> list[str]:
    low = text.lower()
    return [
        role
        for role, words in _ROLE_WORDS.items()
        if any(
            (w in low) if _chinese(w) else re.search(r"(?<![a-z])" + re.escape(w) + r"s?(?![a-z])", low)
            for w in words
        )
    ]


def find_brands(text: str) -> dict[str, str]:
    brands: dict[str, str] = {}
    for role, brand, pattern in _BRANDS:
        if re.search(pattern, text) and role not in brands:
            brands[role] = brand
    return brands


def find_colour(text: str) -> str | None:
    return next((colour for colour, pattern in _COLOURS if re.search(pattern, text)), None)


def _named_skus(graph: ProductGraph, text: str) -> list[str]:
    """Products the message names clearly enough to act on (one candidate, or the first of a clear mention)."""
    return [m.candidates[0] for m in link(graph, text) if m.clear and m.candidates]


# what names a model line rather than one product: "4070" is every card with the GeForce RTX 4070 chip
_LINE_ATTRIBUTES = {"video-card": "chipset", "cpu": "socket"}


def _named_lines(graph: ProductGraph, text: str) -> list[tuple[str, dict[str, Any]]]:
    """Model lines the message names without naming one product ("换成4070"): role → the line's
    attribute, when every product the mention may mean agrees on it."""
    found = []
    for mention in link(graph, text):
        if mention.clear or not mention.candidates:
            continue
        products = [graph.products[s] for s in mention.candidates if s in graph.products]
        roles = {role_of(p) for p in products}
        role = roles.pop() if len(roles) == 1 else None
        key = _LINE_ATTRIBUTES.get(role or "")
        values = {p.attributes.get(key) for p in products} if key else set()
        if key and len(values) == 1 and None not in values:
            found.append((role, {key: values.pop()}))
    return found


def find_changes(graph: ProductGraph, text: str, intent: str, entities: list[dict[str, Any]]) -> list[Change]:
    """The changes a message asks of the current build, in the order the planner applies them."""
    button = next((e.get("value") for e in entities if e.get("entity") == "build_change"), None)
    if button == "cheaper":
        return [Change("cheaper")]
    if button == "more_gpu":
        return [Change("emphasis", {"video-card": 1, "cpu": -1})]
    changes: list[Change] = []
    amount, _ = find_amount(text)
    if amount is not None and amount > 100:
        changes.append(Change("budget", amount))
    elif _CHEAPER.search(text) and not re.search(_MORE, text, re.I):
        changes.append(Change("cheaper"))
    roles = _roles_named(text)
    emphasis: dict[str, int] = {}
    for role in roles:
        words = "|".join(re.escape(w) for w in _ROLE_WORDS[role])
        near = rf"(?:{_MORE}[^,，.。]{{0,12}}(?:{words})|(?:{words})[^,，.。]{{0,6}}{_MORE})"
        far = rf"(?:{_LESS}[^,，.。]{{0,12}}(?:{words})|(?:{words})[^,，.。]{{0,6}}{_LESS})"
        if re.search(near, text, re.I):
            emphasis[role] = 1
        elif re.search(far, text, re.I):
            emphasis[role] = -1
    if emphasis:
        changes.append(Change("emphasis", emphasis))
    named = _named_skus(graph, text)
    lines = [] if named else _named_lines(graph, text)
    if _HAVE.search(text) and named:
        changes.extend(Change("have", sku) for sku in named)
    elif named:
        changes.extend(Change("use", sku) for sku in named)
    changes.extend(Change("line", attributes, role) for role, attributes in lines)
    for role, brand in find_brands(text).items():
        if not named and role not in dict(lines):
            changes.append(Change("brand", brand, role))
    colour = find_colour(text)
    if colour:
        changes.append(Change("colour", colour))
    new_purpose = find_purpose(text)
    if new_purpose:
        changes.append(Change("purpose", new_purpose))
    if not changes and _SWAP.search(text):
        changes.extend(Change("swap", None, role) for role in roles)
    return changes


# --- upgrades --------------------------------------------------------------------------------------

# "a 550 W PSU", "550W电源": the wattage is what decides which graphics cards the supply can carry
_WATTS = re.compile(r"(?i)(?<![\d.])(\d{3,4})\s*(?:w|watts?|瓦)(?![a-z])")
_OWN = re.compile(
    r"(?i)\b(?:i (?:already )?(?:have|own|got|run|use)|i've got|i'm running|my|currently)\b|我有|我的|已经有|现有|现在的|目前"
)
_UPGRADE = re.compile(r"(?i)(?<![a-z])upgrad\w*|升级|换代")
_ASKS = re.compile(
    r"(?i)\b(?:best|which|what|recommend|suggest|should i|get|buy)\b|[?？]|哪|什么|推荐|选|买|配"
)
# the attributes the compatibility rules read, per role: what a described part ("a B660 board") can pin
_RULE_ATTRIBUTES = {
    "cpu": ("socket", "tdp"),
    "motherboard": ("socket", "memory_type"),  # not the size: "B650" boards include B650M ones
    "memory": ("memory_type",),
    "case": ("case_type",),
    "power-supply": ("wattage",),
    "video-card": ("chipset",),
}


@dataclass(frozen=True)
class Upgrade:
    """ "I have an i5-12400 on a B660 board and a 550 W PSU: best graphics card for $400?": the parts
    owned (role → SKU, or a described part's pseudo-SKU), the role to buy and the budget (None: the
    best that fits)."""

    have: dict[str, str]
    role: str
    budget_usd: float | None
    conversion: Conversion | None


def _label(words: tuple[str, ...]) -> str:
    return " ".join(w.upper() if any(ch.isdigit() for ch in w) else w.capitalize() for w in words)


def described(graph: ProductGraph, role: str, words: tuple[str, ...]) -> str:
    """A part named only by its line ("a B660 board"): what every catalogue part of the role whose
    name has those words agrees on (every B660 board is LGA1700; some take DDR4, some DDR5, so the
    memory generation stays unknown)."""
    part_type = part_type_of(role)
    matching = [
        p for p in graph.products.values() if p.part_type == part_type and set(words) <= set(tokens(p.name))
    ]
    agreed = {}
    for key in _RULE_ATTRIBUTES.get(role, ()):
        values = {p.attributes.get(key) for p in matching}
        if len(values) == 1 and None not in values:
            agreed[key] = values.pop()
    return described_sku(role, agreed, _label(words))


def owned_parts(graph: ProductGraph, text: str) -> dict[str, str]:
    """role → the part the message says the shopper has: a product named clearly (its SKU), a line
    named ("B660 board", its described pseudo-SKU) or a power supply by its wattage."""
    owned: dict[str, str] = {}
    for mention in link(graph, text):
        products = [graph.products[s] for s in mention.candidates if s in graph.products]
        roles = {role_of(p) for p in products}
        if len(roles) != 1 or None in roles:
            continue
        role = roles.pop()
        if mention.clear:
            owned.setdefault(role, mention.candidates[0])
        else:
            owned.setdefault(role, described(graph, role, mention.words))
    watts = _WATTS.search(text)
    if watts and "power-supply" not in owned:
        owned["power-supply"] = described_sku("power-supply", {"wattage": int(watts.group(1))})
    return owned


def find_upgrade(graph: ProductGraph, text: str) -> Upgrade | None:
    """An upgrade question: parts the shopper has, and one kind of part to buy for them (the role
    named that they do not have; a graphics card when they only say "upgrade")."""
    if not (_OWN.search(text) or _UPGRADE.search(text)) or not (_ASKS.search(text) or _UPGRADE.search(text)):
        return None
    have = owned_parts(graph, text)
    if not have:
        return None
    wanted = [r for r in _roles_named(text) if r not in have]
    if not wanted and _UPGRADE.search(text) and "video-card" not in have:
        wanted = ["video-card"]
    if len(wanted) != 1:
        return None
    amount, conversion = find_amount(text)
    return Upgrade(have, wanted[0], amount, conversion)


UPGRADE_OPTIONS = 3  # the best part and the next best ones that fit, so the shopper can choose


def owned_name(product: Product, lang: str) -> str:
    """A part the shopper has, by its name, or by what they said of it ("B660 motherboard", "550瓦电源")."""
    if not product.sku.startswith(DESCRIBED):
        return product.name
    label = product.sku.split(":", 3)[3] if product.sku.count(":") >= 3 else ""
    watts = product.attributes.get("wattage")
    size = (f"{watts}瓦" if lang == "zh" else f"{watts} W ") if watts else ""
    sep = "" if lang == "zh" else " "
    return f"{label}{sep if label else ''}{size}{part_type_name(product.part_type or '', lang)}".strip()


def _upgrade_options(upgrade: Upgrade, count: int = UPGRADE_OPTIONS) -> list[Build]:
    """The best part of the role that fits what the shopper has, then the next best without it."""
    planner = get_planner()
    budget = upgrade.budget_usd if upgrade.budget_usd is not None else 1e6
    options: list[Build] = []
    request = Request(
        budget_usd=budget,
        purpose="gaming",
        constraints=Constraints(have=tuple(upgrade.have.values())),
        upgrade_role=upgrade.role,
        conversion=upgrade.conversion,
    )
    while len(options) < count:
        try:
            options.append(planner.plan(request))
        except NoBuild:
            if not options:
                raise
            break
        bought = options[-1].part(upgrade.role).product
        # the next option is another chip, not the same card from another maker
        chipset = bought.attributes.get("chipset") if upgrade.role == "video-card" else None
        same = [
            p.sku for p in planner.by_role[upgrade.role] if chipset and p.attributes.get("chipset") == chipset
        ]
        exclude = request.constraints.exclude + (bought.sku, *same)
        request = replace(request, constraints=replace(request.constraints, exclude=exclude))
    return options


def _stronger(upgrade: Upgrade, best: Build) -> Build | None:
    """The part the budget would buy if the power supply were no limit, when it is not the one chosen."""
    psu = upgrade.have.get("power-supply")
    if psu is None or upgrade.role not in ("video-card", "cpu"):
        return None
    have = {r: s for r, s in upgrade.have.items() if r != "power-supply"}
    try:
        free = _upgrade_options(replace(upgrade, have=have), 1)[0]
    except NoBuild:
        return None
    if free.part(upgrade.role).sku == best.part(upgrade.role).sku:
        return None
    return free if free.score > best.score else None


def _upgrade_checks(best: Build, upgrade: Upgrade, lang: str) -> list[str]:
    """What was checked, in words: the whole PC's power against the supply (or what supply it needs),
    and the knowledge graph's verdict on every pair of the new part and the parts owned."""
    texts = profiles()["upgrade"]
    products = best.products()
    new = products[upgrade.role]
    role = _role_name(upgrade.role, lang)
    cpu_w, gpu_w = compat.estimated_draw(products.values())
    psu = products.get("power-supply")
    fields = {
        "cpu_w": f"{cpu_w:g}",
        "gpu_w": f"{gpu_w:g}",
        "base": f"{compat.system_base_w():g}",
        "need": compat.recommended_psu(cpu_w, gpu_w),
        "role": role,
    }
    checks = []
    if upgrade.role in ("video-card", "cpu"):
        if psu is not None:
            checks.append(texts["power"][lang].format(watts=psu.attributes.get("wattage"), **fields))
        else:
            checks.append(texts["power_unknown"][lang].format(**fields))
    owned = [p for r, p in products.items() if r != upgrade.role and r != "power-supply"]
    pairs = [(new, p) for p in owned] + [
        (a, b) for i, a in enumerate(owned) for b in owned[i + 1 :] if a.part_type != b.part_type
    ]
    for a, b in pairs:
        verdict = compat.check(a, b)
        if verdict.compatible is not None:  # not "these two do not depend on each other"
            checks.append(" ".join(r.text(lang) for r in verdict.reasons))
    return checks


async def upgrade_answer(dispatcher: CollectingDispatcher, tracker: Tracker, upgrade: Upgrade) -> Events:
    """The best part(s) of one kind for the parts the shopper has, why, and what was checked."""
    graph = await asyncio.to_thread(services.graph)
    lang = language(tracker)
    planner = get_planner()
    owned = [owned_name(planner.product(s), lang) for s in upgrade.have.values()]
    owned_text = ("、" if lang == "zh" else ", ").join(owned)
    role = _role_name(upgrade.role, lang)
    texts = profiles()["upgrade"]
    budget = (
        texts["budget"][lang].format(budget=format_price(upgrade.budget_usd, lang))
        if upgrade.budget_usd is not None
        else ""
    )
    try:
        options = await asyncio.to_thread(_upgrade_options, upgrade)
    except NoBuild as error:
        dispatcher.utter_message(
            response="utter_build_upgrade_impossible",
            owned=owned_text,
            role=role,
            budget=budget,
            hint=error.text(lang),
        )
        return []
    best = options[0]
    heading = texts["heading"][lang].format(owned=owned_text, role=role, budget=budget)
    if upgrade.conversion:
        heading = upgrade.conversion.text(lang) + ("。" if lang == "zh" else ". ") + heading
    lines = []
    for i, option in enumerate(options, 1):
        part = option.part(upgrade.role)
        price = format_price(part.price, lang)
        lines.append(f"{i}. {part.product.name} — {price}\n   {part.reason(lang)}")
    checks = _upgrade_checks(best, upgrade, lang)
    stronger = await asyncio.to_thread(_stronger, upgrade, best)
    if stronger is not None:
        part = stronger.part(upgrade.role)
        psu = best.products()["power-supply"]
        checks.append(
            texts["stronger"][lang].format(
                name=part.product.name,
                price=format_price(part.price, lang),
                need=stronger.recommended_psu_w,
                watts=psu.attributes.get("wattage"),
            )
        )
    cards = [card(graph, o.part(upgrade.role).product, lang) for o in options]
    dispatcher.utter_message(
        response="utter_build_upgrade",
        heading=heading,
        lines="\n".join(lines),
        checks=texts["checked"][lang] + ("" if lang == "zh" else " ").join(checks),
        json_message=product_cards(cards),
    )
    shown = [o.part(upgrade.role).sku for o in options]
    return [SlotSet(SLOT, slot_value(best)), SlotSet("shown_skus", shown)]


# --- the slot ------------------------------------------------------------------------------------


def _request_dict(request: Request) -> dict[str, Any]:
    data = asdict(request)
    data["constraints"]["brands"] = dict(request.constraints.brands)
    data["constraints"]["require"] = {r: dict(v) for r, v in request.constraints.require.items()}
    return data


def request_from(data: dict[str, Any]) -> Request:
    c = data.get("constraints") or {}
    conversion = data.get("conversion")
    return Request(
        budget_usd=float(data["budget_usd"]),
        purpose=str(data["purpose"]),
        constraints=Constraints(
            brands=dict(c.get("brands") or {}),
            have=tuple(c.get("have") or ()),
            fixed=tuple(c.get("fixed") or ()),
            colour=c.get("colour"),
            store_id=c.get("store_id"),
            exclude=tuple(c.get("exclude") or ()),
            require={r: dict(v) for r, v in (c.get("require") or {}).items()},
        ),
        emphasis=tuple(tuple(e) for e in data.get("emphasis") or ()),
        upgrade_role=data.get("upgrade_role"),
        conversion=Conversion(**conversion) if conversion else None,
    )


def slot_value(build: Build, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The slot: the build's request and parts, and the one shown before it (for "what changed")."""
    shown = {
        "request": _request_dict(build.request),
        "parts": [[p.role, p.sku, p.owned] for p in build.parts],
    }
    if previous and previous.get("request"):
        shown["previous"] = {"request": previous["request"], "parts": previous.get("parts") or []}
    return shown


def current(tracker: Tracker) -> dict[str, Any] | None:
    value = tracker.get_slot(SLOT)
    return value if isinstance(value, dict) else None


def pending(tracker: Tracker) -> bool:
    """A build was asked for but its budget or purpose is still missing."""
    value = current(tracker)
    return bool(value and value.get("pending"))


def names_one_part(text: str) -> bool:
    """ "Which processor would you pick for gaming, max $300": one kind of part, no word for a whole
    computer — a search, whatever the NLU calls it."""
    return bool(_roles_named(text)) and not _BUILD_WORDS.search(text)


# "for my desktop", "给我的电脑": a computer the shopper has, not one to build
_OWNED_COMPUTER = re.compile(
    r"(?i)\b(?:for|with|in|to|on) (?:my|our|the) (?:pcs?|computers?|desktops?|rigs?|towers?)\b|我的电脑|我的主机|我电脑"
)


def names_other_kind(graph: ProductGraph, text: str) -> bool:
    """ "2000元以内的显示器", "i need a battery backup for my desktop", "do u have the 4070 ti super": a
    kind of product other than a computer, or a product, and no word for a computer to build — a search for it,
    whatever the NLU calls it (budgets and purposes are said of single products too)."""
    if _BUILD_WORDS.search(_OWNED_COMPUTER.sub(" ", text)):
        return False
    rest = _without_purposes(text)  # "预算5000，主要打游戏" names a purpose, not video games
    try:
        parsed = parse_search(graph, rest).query
    except ValueError:
        return False
    kind = parsed.category or parsed.part_type
    if kind:
        return kind not in COMPUTER_CATEGORIES
    return bool(link(graph, rest))  # a product or a product line named ("the 4070 ti super")


def _without_purposes(text: str) -> str:
    names = sorted(
        {str(n).lower() for key, ns in profiles()["purpose_aliases"].items() for n in [key, *ns]},
        key=len,
        reverse=True,
    )
    low = text.lower()
    for name in names:
        low = (
            low.replace(name, " ")
            if _chinese(name)
            else re.sub(rf"(?<![a-z]){re.escape(name)}(?![a-z])", " ", low)
        )
    return low


_WHOLE = re.compile(
    r"(?i)(?<![a-z])(?:whole|all|every(?:thing)?|entire|complete|full)(?![a-z])|整套|这套|那套|全部|全都|都|所有|一套"
)


def on_screen(tracker: Tracker) -> bool:
    """Whether the list on screen is the build's parts (an upgrade's list: its best part first)."""
    state = current(tracker)
    shown = [p[1] for p in (state or {}).get("parts") or [] if p[1] and not p[2]]
    return bool(shown) and list(tracker.get_slot("shown_skus") or [])[: len(shown)] == shown


def means_whole_build(tracker: Tracker) -> bool:
    """ "可以，这套都加到购物车里", "add all of it" right after a build: the whole build, not one part."""
    text = tracker.latest_message.get("text") or ""
    return on_screen(tracker) and bool(_WHOLE.search(text)) and not references.ordinal_positions(tracker)


def add_whole_build(dispatcher: CollectingDispatcher, tracker: Tracker) -> Events:
    """Every part of the build shown into the cart (add_build_to_cart, or add_to_cart meaning all of it)."""
    return _add_to_cart(dispatcher, tracker, services.graph(), current(tracker), language(tracker))


def upgrade_in(tracker: Tracker) -> Upgrade | None:
    """The upgrade the latest message asks about, unless it changes the build on screen ("I already
    have a 750 W PSU" after a build is a part the build keeps)."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent == "add_build_to_cart" or (intent == "refine_build" and on_screen(tracker)):
        return None
    return find_upgrade(services.graph(), tracker.latest_message.get("text") or "")


def takes_over(tracker: Tracker, intent: str) -> bool:
    """Whether a message the NLU read as a search or an unclear one belongs to the build: the missing
    budget or purpose of a build just asked for ("gaming", "about 1500"), or "cheaper" / "only
    Intel" right after a build was shown (its parts are the list on screen)."""
    text = tracker.latest_message.get("text") or ""
    if upgrade_in(tracker) is not None:
        return True  # "I have an i5-12400 and a 550 W PSU: best graphics card for $400?" read as a search
    if pending(tracker):
        if _roles_named(text) and not _BUILD_WORDS.search(text):
            return False  # "which processor would you pick, max $300": a search for one part
        return find_purpose(text) is not None or find_amount(text, bare=True)[0] is not None
    if intent == "check_compatibility":  # "would it work with an Intel chip instead?": a brand, no part
        return on_screen(tracker) and bool(find_brands(text)) and not _named_skus(services.graph(), text)
    if intent == "product_details":  # "use the Ryzen 7 7700X", "换成9700X": a part for the build shown
        return on_screen(tracker) and bool(_PUT_IN.search(text)) and bool(_named_skus(services.graph(), text))
    if (
        intent in _WEAK_INTENTS
    ):  # "can you do it with intel?" read as a FAQ question, "why that one?" as affirm
        return on_screen(tracker) and asks_of_build(
            text, intent, tracker.latest_message.get("entities") or []
        )
    return intent in ("refine_search", "nlu_fallback", "inform") and on_screen(tracker)


# intents a question about the build on screen is often taken for; such a message goes to the build only
# when it asks why, what changed, or for a change the build understands
_WEAK_INTENTS = ("faq", "out_of_scope", "affirm", "deny", "chitchat")
_POINTS = re.compile(r"(?i)(?:it|this|that|these|those|one|ones)|这个|那个|这款|那款|它")


def asks_of_build(text: str, intent: str, entities: list[dict[str, Any]]) -> bool:
    """Whether a message is about the build shown: why a part ("why that one?", "why this board?"),
    what changed, or a change ("can you do it with intel?", "a bit cheaper")."""
    if _WHY.search(text) and (_roles_named(text) or _POINTS.search(text)):
        return True
    if _DIFF.search(text):
        return True
    return bool(find_changes(services.graph(), text, intent, entities))


# --- replies -------------------------------------------------------------------------------------


def _role_name(role: str, lang: str) -> str:
    return part_type_name(part_type_of(role), lang)


def _purpose_name(key: str, lang: str) -> str:
    return purpose(key).name(lang)


@lru_cache(maxsize=1)
def _store_names() -> dict[int, str]:
    from catalog import load_stores

    return {s.id: s.name for s in load_stores()}


def _store_name(store_id: int | None) -> str | None:
    return None if store_id is None else _store_names().get(store_id)


def show(dispatcher: CollectingDispatcher, graph: ProductGraph, build: Build, lang: str) -> None:
    """The build: one numbered line per part (role, name, price, reason), the total, the parts'
    cards and the buttons that act on the whole build."""
    lines = []
    for i, part in enumerate(build.parts, 1):
        role = _role_name(part.role, lang)
        if part.product is None:
            lines.append(f"{i}. {role}: {part.reason(lang)}")
            continue
        price = ("已有" if lang == "zh" else "you have it") if part.owned else format_price(part.price, lang)
        sep = "：" if lang == "zh" else ": "
        lines.append(f"{i}. {role}{sep}{part.product.name} — {price}\n   {part.reason(lang)}")
    budget = format_price(build.request.budget_usd, lang)
    name = _purpose_name(build.request.purpose, lang)
    heading = f"{name}配置（预算{budget}）：" if lang == "zh" else f"A {name} build for {budget}:"
    store = _store_name(build.request.constraints.store_id)
    if store:  # every part in stock there for pick-up today
        heading = f"{store}有货的" + heading if lang == "zh" else heading[:-1] + f", in stock at {store}:"
    if build.request.conversion:
        heading = build.request.conversion.text(lang) + ("。" if lang == "zh" else ". ") + heading
    left = build.request.budget_usd - build.total
    note = (
        (
            f"，比预算少{format_price(left, lang)}"
            if lang == "zh"
            else f", {format_price(left, lang)} under budget"
        )
        if left >= 1
        else ""
    )
    labels = {
        "en": ("Add the whole build to cart", "Cheaper", "More graphics power"),
        "zh": ("整套加入购物车", "便宜一点", "显卡更强"),
    }[lang]
    buttons = [
        {"title": labels[0], "payload": "/add_build_to_cart"},
        {"title": labels[1], "payload": '/refine_build{"build_change": "cheaper"}'},
        {"title": labels[2], "payload": '/refine_build{"build_change": "more_gpu"}'},
    ]
    cards = [card(graph, p.product, lang) for p in build.parts if p.product is not None and not p.owned]
    dispatcher.utter_message(
        response="utter_build",
        heading=heading,
        lines="\n".join(lines),
        total=format_price(build.total, lang),
        note=note,
        buttons=buttons,
        json_message=product_cards(cards),
    )


def _impossible(dispatcher: CollectingDispatcher, request: Request, error: NoBuild, lang: str) -> None:
    where = ""
    if request.constraints.store_id is not None:
        where = " for pick-up at that store" if lang == "en" else "该门店"
    hint = error.text(lang)
    if error.cheapest_usd:
        hint = (
            f"最便宜的一套完整配置约{format_price(error.cheapest_usd, lang)}。"
            if lang == "zh"
            else f"The cheapest complete build is about {format_price(error.cheapest_usd, lang)}."
        )
    dispatcher.utter_message(
        response="utter_build_impossible",
        purpose=_purpose_name(request.purpose, lang),
        budget=format_price(request.budget_usd, lang),
        where=where,
        hint=hint,
    )


def _plan(request: Request) -> Build:
    return get_planner().plan(request)


def _restore(state: dict[str, Any]) -> Build:
    """The build shown last, as it was shown (see Planner.restore)."""
    parts = {
        role: (None if sku is None else (sku, bool(owned))) for role, sku, owned in state.get("parts") or []
    }
    return get_planner().restore(request_from(state["request"]), parts)


def _refine(build: Build, changes: list[Change]) -> Build:
    for change in changes:
        build = get_planner().refine(build, change)
    return build


async def _planned(
    dispatcher: CollectingDispatcher,
    graph: ProductGraph,
    request: Request,
    lang: str,
    previous: dict[str, Any] | None,
    change: list[Change] | None = None,
    before: Build | None = None,
) -> Events:
    try:
        if change and before is not None:
            build = await asyncio.to_thread(_refine, before, change)
        else:
            build = await asyncio.to_thread(_plan, request)
    except NoBuild as error:
        _impossible(dispatcher, request, error, lang)
        return []
    if before is not None:
        delta = diff(before, build)
        if not delta.changes:  # "switch to Intel" when it is Intel already
            dispatcher.utter_message(response="utter_build_same")
            return []
        dispatcher.utter_message(response="utter_build_changes", changes=delta.text(lang))
    show(dispatcher, graph, build, lang)
    shown = [p.sku for p in build.parts if p.sku and not p.owned]
    return [SlotSet(SLOT, slot_value(build, previous)), SlotSet("shown_skus", shown)]


async def build_answer(dispatcher: CollectingDispatcher, tracker: Tracker, fresh: bool = False) -> Events:
    """plan_build, refine_build and add_build_to_cart, and a bare answer to "what budget / what for".
    fresh: a new build whatever the intent ("do you sell gaming PCs?" read as a search)."""
    graph = await asyncio.to_thread(services.graph)
    lang = language(tracker)
    text = tracker.latest_message.get("text") or ""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    entities = tracker.latest_message.get("entities") or []
    state = current(tracker)
    if intent == "add_build_to_cart":
        return _add_to_cart(dispatcher, tracker, graph, state, lang)
    upgrade = await asyncio.to_thread(upgrade_in, tracker)
    if upgrade is not None:
        return await upgrade_answer(dispatcher, tracker, upgrade)
    asked = (state or {}).get("pending") or {}
    tagged = {str(v) for v in entity_values(tracker, "price")} if names_a_build(text) else set()
    amount, conversion = find_amount(text, bare=bool(asked), tagged=tagged)
    if (
        state
        and not asked
        and not fresh
        and (intent != "plan_build" or (amount is None and find_purpose(text) is None))
    ):
        return await _change(dispatcher, tracker, graph, state, text, intent, entities, lang)
    # a new build, or the missing half of one asked for before
    chosen = find_purpose(text) or asked.get("purpose")
    if amount is None and asked.get("budget_usd"):
        amount, conversion = (
            asked["budget_usd"],
            Conversion(**asked["conversion"]) if asked.get("conversion") else None,
        )
    if amount is None or chosen is None:
        wanted = {
            "purpose": chosen,
            "budget_usd": amount,
            "conversion": asdict(conversion) if conversion else None,
        }
        if chosen is not None:
            dispatcher.utter_message(response="utter_build_ask_budget", purpose=_purpose_name(chosen, lang))
        else:
            dispatcher.utter_message(response="utter_build_ask")
        return [SlotSet(SLOT, {"pending": wanted})]
    store = references.store_in_focus(tracker) if references.store_mentioned(tracker) else None
    if store is None:
        store = await _staff_store(tracker)  # "… for a customer, in stock at my store"
    named = _named_skus(graph, text)
    constraints = Constraints(
        brands={r: b for r, b in find_brands(text).items()},
        fixed=tuple(named),
        colour=find_colour(text),
        store_id=store,
    )
    request = Request(
        budget_usd=float(amount),
        purpose=normalise_purpose(chosen),
        constraints=constraints,
        conversion=conversion,
    )
    return await _planned(dispatcher, graph, request, lang, None)


async def _staff_store(tracker: Tracker) -> int | None:
    """The staff member's own store when a staff message asks for what is in stock there ("my store",
    "本店"): a build for a customer in the store, from what they can take home today."""
    token = identity(tracker).get("staff_token")
    if not token or "store" not in entity_values(tracker, "stock_scope"):
        return None
    try:
        return (await services.orders().staff_me(token)).store_id
    except OrderServiceError:
        return None


async def _change(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    graph: ProductGraph,
    state: dict[str, Any],
    text: str,
    intent: str | None,
    entities: list[dict[str, Any]],
    lang: str,
) -> Events:
    request = request_from(state["request"])
    if _DIFF.search(text) and state.get("previous"):
        old = await asyncio.to_thread(_restore, state["previous"])
        new = await asyncio.to_thread(_restore, state)
        delta = diff(old, new)
        if delta.changes:
            dispatcher.utter_message(response="utter_build_changes", changes=delta.text(lang))
        else:
            dispatcher.utter_message(response="utter_build_same")
        return []
    roles = _roles_named(text)
    if _WHY.search(text):
        build = await asyncio.to_thread(_restore, state)
        first = build.part(request.upgrade_role) if request.upgrade_role else build.parts[0]
        asked = [build.part(r) for r in roles] or [first]
        for part in asked:
            if part is not None:
                name = part.product.name if part.product else _role_name(part.role, lang)
                dispatcher.utter_message(response="utter_build_why", part=name, reason=part.reason(lang))
        return []
    changes = find_changes(graph, text, intent or "", entities)
    if _HAVE.search(text) and not any(c.kind == "have" for c in changes) and roles:
        # "I already have a case": which one decides what fits it (board size, power, socket)
        dispatcher.utter_message(response="utter_build_ask_owned", part=_role_name(roles[0], lang))
        return []
    if not changes:
        dispatcher.utter_message(response="utter_build_ask_change")
        return []
    before = await asyncio.to_thread(_restore, state)
    return await _planned(dispatcher, graph, request, lang, state, changes, before)


def _add_to_cart(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    graph: ProductGraph,
    state: dict[str, Any] | None,
    lang: str,
) -> Events:
    parts = [p for p in (state or {}).get("parts") or [] if p[1] and not p[2]]
    if not parts:
        dispatcher.utter_message(response="utter_build_none")
        return []
    lines = cart_lines(tracker)
    for _, sku, _ in parts:
        line = next((x for x in lines if x["sku"] == sku), None)
        if line:
            line["qty"] += 1
        else:
            lines.append({"sku": sku, "qty": 1})
    total = sum(graph.products[sku].price for _, sku, _ in parts if sku in graph.products)
    dispatcher.utter_message(response="utter_build_added", count=len(parts), total=format_price(total, lang))
    return [SlotSet("cart", lines)]
