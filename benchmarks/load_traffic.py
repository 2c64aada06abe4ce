"""The load benchmark's traffic (benchmarks/load.py): shopping conversations written from the shop's data,
the three channels they arrive on (REST, socket.io as the web widget, the staff channel), and the ledger
of the orders shoppers saw confirmed.

Conversations are drawn from templates filled with real products (PC parts stocked at the pick-up store,
so that a pick-up order can be placed), real stores that offer pick-up, real street addresses (for
delivery), the shop's brands and price ranges; the wording is our own. Every message is checked against
the NLU training data after the normalisation the overlap test uses (tests/unit/test_no_test_leak.py):
a load made of training lines measures memory, not understanding.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
import yaml

from deploy.stack import ROOT
from tests.unit.test_no_test_leak import NLU_DIR, nlu_examples, normalise

UNAVAILABLE = ("can't reach that service", "暂时无法连接")  # utter_service_unavailable
TURN_TIMEOUT_S = 30.0
SOCKET_QUIET_S = 0.4  # socket.io has no end-of-turn event: a turn ends when the bot has been quiet this long
ORDER_TURN = "{order_id}"  # placeholder of a tracking turn, filled with the order the shopper saw placed

# The shop's words for the kinds of product the shoppers buy (category vocabulary, per language).
KINDS = {
    "cpu": ("processor", "处理器"),
    "video-card": ("graphics card", "显卡"),
    "power-supply": ("power supply", "电源"),
    "mouse": ("gaming mouse", "鼠标"),
    "keyboard": ("keyboard", "键盘"),
    "monitor": ("monitor", "显示器"),
    "cpu-cooler": ("CPU cooler", "CPU散热器"),
    "memory": ("RAM kit", "内存条"),
    "case-fan": ("case fan", "机箱风扇"),
    "headphones": ("headset", "耳机"),
}

EN = {
    "greet": [
        "hi, can you help me find something?",
        "hello! shopping for some pc parts today",
        "hey there, got a minute?",
        "good evening, I need a bit of advice",
        "hi daogou, what can you do for me",
    ],
    "search": [
        "I'm after a {kind} for less than ${budget}",
        "which {kind}s do you sell under {budget} dollars?",
        "got any {brand} {kind}s?",
        "show me a {kind} around ${budget}",
        "need a new {kind}, budget is ${budget}",
    ],
    "refine": [
        "only the {brand} ones please",
        "anything a bit cheaper, say under ${budget}?",
        "what about {brand} instead",
        "can you keep it below {budget} bucks",
        "hmm, which of those is the cheapest",
    ],
    "faq": [
        "how long do I get to send something back?",
        "do you charge for shipping to my house?",
        "what payment methods can I use at checkout?",
        "is there a warranty on these parts?",
        "can I change my order after I place it?",
        "how quickly do deliveries usually arrive?",
        "do you price match other retailers?",
    ],
    "stock": [
        "does the {store} store have the {name} right now?",
        "can I get the {name} at {store} today?",
        "is the {name} on the shelf in {store}?",
    ],
    "add": [
        "please put the {name} in my cart",
        "I'll go with the {name}, add it to the cart",
        "add one {name} to my basket please",
        "ok, the {name} goes in my cart",
    ],
    "cart": [
        "what have I got in my cart so far?",
        "remind me what's in the basket",
        "show me my cart please",
    ],
    "checkout": [
        "I think I'm done, checking out",
        "let's pay for it",
        "ready to check out",
        "go to checkout please",
    ],
    "pickup": [
        "I'll collect it at a store",
        "store pick-up works for me",
        "I'd rather pick it up in person",
    ],
    "store": ["{store}", "the {store} store", "pick it up at {store}"],
    "delivery": ["please ship it to my home", "have it delivered to me", "can you deliver it to my address"],
    "address": ["{street}, {city}, {state} {zip}", "send it to {street}, {city} {state} {zip}"],
    "confirm": ["yes, go ahead and place it", "looks right, confirm the order", "yep, order it"],
    "track": [
        "where is my order {order_id}?",
        "any news on order {order_id}",
        "what's the status of order number {order_id}?",
    ],
    "recommend": ["what would you suggest for a gaming build?", "anything you'd recommend for me?"],
    "bye": ["thanks, that's all", "great, thank you so much", "cheers, bye for now"],
}
ZH = {
    "greet": ["你好，想买点电脑配件", "在吗？想咨询一下", "您好，帮我挑点东西吧"],
    "search": [
        "有没有{budget}美元以内的{kind}",
        "想看看{brand}的{kind}",
        "推荐一款{budget}美元左右的{kind}",
        "预算{budget}美元，买什么{kind}好",
    ],
    "refine": ["只看{brand}的", "再便宜一点的呢，{budget}美元以内", "有{brand}牌子的吗", "哪个最便宜"],
    "faq": [
        "买了不合适多久之内可以退？",
        "送货上门要运费吗？",
        "结账可以用哪些方式付款？",
        "这些配件有保修吗？",
        "下单以后还能改订单吗？",
    ],
    "stock": ["{store}店现在有{name}吗", "{name}在{store}有货吗"],
    "add": ["把{name}加到购物车", "{name}来一个，放进购物车", "我要{name}，加入购物车吧"],
    "cart": ["我的购物车里有什么", "看一下购物车"],
    "checkout": ["我要结账", "去结算吧", "那就结账吧"],
    "pickup": ["我去门店自取", "到店取货就行"],
    "store": ["{store}", "在{store}取"],
    "delivery": ["送货上门吧", "帮我寄到家里"],
    "address": ["{street}, {city}, {state} {zip}"],
    "confirm": ["对，下单吧", "没问题，确认下单"],
    "track": ["我的订单{order_id}到哪了", "订单{order_id}现在什么状态"],
    "recommend": ["你觉得我该买哪个好", "打游戏的话推荐买什么"],
    "bye": ["谢谢，没别的了", "好的，谢谢你"],
}
STAFF = {
    "en": [
        "how many {name} do we have here?",
        "stock check on the {name} please",
        "do we still carry the {name} in this store?",
        "which stores nearby have the {name}?",
        "is the {name} in stock anywhere else?",
    ],
    "zh": ["本店{name}还有几个", "{name}库存多少", "附近哪家店有{name}"],
}


@dataclass(frozen=True)
class Product:
    name: str
    brand: str
    kind: str
    price: float


@dataclass(frozen=True)
class Store:
    name: str
    products: tuple[Product, ...]  # stocked there (several units)


@dataclass
class Script:
    """One conversation: its channel, language and turns ("{order_id}" filled once an order is placed)."""

    channel: str  # rest | socketio | staff
    lang: str
    turns: list[str]
    places_orders: int = 0  # how many times it asks for an order to be placed


@dataclass
class ShopData:
    stores: list[Store]
    addresses: list[dict[str, str]]
    associates: list[str]  # usernames of demo associates with a store

    @classmethod
    def load(cls, database_url: str, stores: int = 24, per_store: int = 12) -> ShopData:
        engine = sa.create_engine(database_url)
        kinds = list(KINDS)
        with engine.connect() as conn:
            names = conn.execute(
                sa.text("SELECT name FROM locations WHERE kind = 'store' GROUP BY name HAVING count(*) = 1")
            )
            unique = {r[0] for r in names}
            rows = conn.execute(
                sa.text(
                    "SELECT l.id, l.name, count(*) AS n FROM locations l JOIN stock_levels s ON s.location_id = l.id "
                    "WHERE l.pickup AND l.kind = 'store' AND s.on_hand - s.reserved >= 5 AND s.sku LIKE 'PC-%' "
                    "GROUP BY l.id, l.name ORDER BY n DESC, l.id LIMIT :k"
                ),
                {"k": stores * 3},
            ).all()
            picked = [(r[0], r[1]) for r in rows if r[1] in unique and re.fullmatch(r"[A-Za-z .'-]+", r[1])][
                :stores
            ]
            shop_stores = []
            for location_id, name in picked:
                stocked = conn.execute(
                    sa.text(
                        "SELECT p.name, p.brand, p.part_type, p.price FROM stock_levels s "
                        "JOIN products p ON p.sku = s.sku WHERE s.location_id = :l AND s.on_hand - s.reserved >= 5 "
                        "AND p.part_type IN :kinds AND length(p.name) <= 40 AND p.brand <> '' ORDER BY p.sku"
                    ).bindparams(sa.bindparam("kinds", expanding=True)),
                    {"l": location_id, "kinds": kinds},
                ).all()
                products = tuple(Product(r[0], r[1], r[2], float(r[3])) for r in stocked[:per_store])
                if products:
                    shop_stores.append(Store(name, products))
            addresses = [
                dict(r._mapping)
                for r in conn.execute(
                    sa.text(
                        "SELECT address AS street, city, state, zip FROM locations "
                        "WHERE kind = 'store' AND address <> '' ORDER BY id LIMIT 200"
                    )
                )
            ]
            associates = [
                r[0]
                for r in conn.execute(
                    sa.text(
                        "SELECT username FROM staff_users WHERE role = 'associate' AND active "
                        "AND store_id IS NOT NULL ORDER BY id"
                    )
                )
            ]
        engine.dispose()
        if not shop_stores or not addresses:
            raise RuntimeError(
                "the order database has no stocked pick-up stores or addresses: load the demo shop"
            )
        return cls(shop_stores, addresses, associates)


def training_lines() -> set[str]:
    return {normalise(text) for path in sorted(NLU_DIR.rglob("*.yml")) for text in nlu_examples(path)}


class Traffic:
    """Draws conversations (seeded) and checks each message against the NLU training data."""

    def __init__(self, shop: ShopData, socket_share: float = 0.25, staff_share: float = 0.1) -> None:
        self.shop = shop
        self.socket_share, self.staff_share = socket_share, staff_share
        self.training = training_lines()
        self.sent: set[str] = set()  # normalised messages sent (tracking turns with the placeholder)

    def _fill(self, rng: random.Random, words: dict[str, list[str]], part: str, **values: Any) -> str:
        """A variant of `part` filled with `values` that is not a training line (a store's or product's
        name alone may be one: another variant is drawn)."""
        for _ in range(20):
            text = rng.choice(words[part]).format(**values)
            if normalise(text) not in self.training:
                return text
        raise AssertionError(f"every variant of {part!r} with {values} is an NLU training line")

    def check_sent(self) -> None:
        """The benchmark's assertion over what it really sent: no message is an NLU training line."""
        leaked = sorted(self.sent & self.training)
        assert not leaked, f"load messages that are NLU training lines: {leaked[:10]}"

    def shopper(self, rng: random.Random, channel: str) -> Script:
        lang = "zh" if rng.random() < 0.3 else "en"
        words = ZH if lang == "zh" else EN
        store = rng.choice(self.shop.stores)
        product = rng.choice(store.products)
        other = rng.choice(rng.choice(self.shop.stores).products)
        kind = KINDS[product.kind][1 if lang == "zh" else 0]
        budget = max(20, int(round(product.price * rng.uniform(1.1, 1.6), -1)))
        cheaper = max(10, int(round(budget * 0.8, -1)))

        def say(part: str, **values: Any) -> str:
            return self._fill(rng, words, part, **values)

        turns = [say("greet")] if rng.random() < 0.6 else []
        turns.append(say("search", kind=kind, budget=budget, brand=product.brand))
        turns.append(
            say("refine", brand=other.brand if rng.random() < 0.3 else product.brand, budget=cheaper)
        )
        turns.append(say("faq"))
        mode = rng.choices(["pickup", "delivery", "browse"], weights=[4, 3, 2])[0]
        places = 0
        if mode == "browse":
            turns.append(say("stock", name=product.name, store=store.name))
            turns.append(say("recommend"))
            if rng.random() < 0.5:
                turns.append(say("add", name=other.name))
                turns.append(say("cart"))
        else:
            turns.append(say("add", name=product.name))
            if rng.random() < 0.4:
                turns.append(say("cart"))
            turns.append(say("checkout"))
            if mode == "pickup":
                turns += [say("pickup"), say("store", store=store.name)]
            else:
                turns += [say("delivery"), say("address", **rng.choice(self.shop.addresses))]
            turns.append(say("confirm"))
            places = 1
            turns.append(rng.choice(words["track"]))  # "{order_id}" stays for the shopper to fill
        turns.append(say("bye"))
        return Script(channel, lang, turns, places)

    def staff(self, rng: random.Random) -> Script:
        lang = "zh" if rng.random() < 0.3 else "en"
        turns = []
        for _ in range(rng.randint(5, 7)):
            product = rng.choice(rng.choice(self.shop.stores).products)
            turns.append(self._fill(rng, STAFF, lang, name=product.name))
        return Script("staff", lang, turns)

    def draw(self, rng: random.Random, user: int) -> Script:
        """User number `user` always keeps its channel: every tenth is a store associate (one per signed-in
        associate, so that no two users share a staff conversation), a share of the shoppers use the widget's socket.io, the others REST."""
        every = round(1 / self.staff_share)
        if user % every == every - 1 and user // every < len(self.shop.associates):
            return self.staff(rng)
        channel = "socketio" if (user * 0.618034) % 1 < self.socket_share else "rest"
        return self.shopper(rng, channel)


@dataclass
class Ledger:
    """What shoppers saw: the orders confirmed to them and how many placements each conversation asked for."""

    confirmed: dict[int, str] = field(default_factory=dict)  # order id -> conversation id
    asked: dict[str, int] = field(default_factory=dict)  # conversation id -> placements asked for

    def check(self, database_url: str) -> dict[str, int]:
        """Every confirmed order exactly once in the database, under its conversation; no conversation with
        more orders than it asked to place (a retried turn placing a second order)."""
        engine = sa.create_engine(database_url)
        conversations = list(self.asked)
        rows: list[tuple[int, str]] = []
        with engine.connect() as conn:
            for i in range(0, len(conversations), 500):
                chunk = conversations[i : i + 500]
                rows += [
                    (int(r[0]), str(r[1]))
                    for r in conn.execute(
                        sa.text(
                            "SELECT id, conversation_id FROM orders WHERE conversation_id IN :c"
                        ).bindparams(sa.bindparam("c", expanding=True)),
                        {"c": chunk},
                    )
                ]
        engine.dispose()
        in_db: dict[int, list[str]] = {}
        per_conversation: dict[str, int] = {}
        for order_id, conversation in rows:
            in_db.setdefault(order_id, []).append(conversation)
            per_conversation[conversation] = per_conversation.get(conversation, 0) + 1
        lost = sum(1 for oid, conv in self.confirmed.items() if in_db.get(oid) != [conv])
        duplicated = sum(max(0, n - self.asked.get(conv, 0)) for conv, n in per_conversation.items())
        return {
            "orders_confirmed": len(self.confirmed),
            "orders_lost": lost,
            "orders_duplicated": duplicated,
            "orders_in_database": len(rows),
            "orders_placed_unseen": len(set(in_db) - set(self.confirmed)),
        }


def order_patterns() -> list[re.Pattern[str]]:
    """Regular expressions of the order confirmations (utter_order_placed_*), built from the domain's texts."""
    domain = yaml.safe_load((ROOT / "bot" / "domain" / "cart.yml").read_text(encoding="utf-8"))
    patterns = []
    for name in ("utter_order_placed_pickup", "utter_order_placed_delivery"):
        for variant in domain["responses"][name]:
            parts = re.split(r"(\{\w+\})", variant["text"])
            regex = "".join(
                r"(?P<order_id>\d+)" if p == ORDER_TURN else ".*?" if p.startswith("{") else re.escape(p)
                for p in parts
            )
            patterns.append(re.compile(regex, re.S))
    return patterns


@dataclass
class Reply:
    latency: float
    error: str | None
    text: str


def judge(messages: list[dict[str, Any]]) -> tuple[str | None, str]:
    answer = " ".join(str(m.get("text") or "") for m in messages)
    if not messages:
        return "no answer", answer
    if any(marker in answer for marker in UNAVAILABLE):
        return "service unavailable apology", answer
    return None, answer


class RestUser:
    """A shopper on the REST channel: a fresh sender id, each turn one POST that returns the replies."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client, self.url = client, url
        self.conversation = f"load-{uuid.uuid4().hex[:16]}"

    def request(self, text: str) -> tuple[dict[str, Any], dict[str, str]]:
        """The body and headers of one message."""
        return {"sender": self.conversation, "message": text}, {}

    async def start(self) -> None:
        return None

    async def say(self, text: str) -> Reply:
        body, headers = self.request(text)
        started = time.monotonic()
        try:
            response = await self.client.post(self.url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            return Reply(time.monotonic() - started, type(exc).__name__, "")
        latency = time.monotonic() - started
        if response.status_code != 200:
            return Reply(latency, f"HTTP {response.status_code}", "")
        error, answer = judge(response.json())
        return Reply(latency, error, answer)

    async def close(self) -> None:
        return None


class StaffUser(RestUser):
    """A store associate on the staff channel, signed in (the conversation is keyed by the staff member)."""

    def __init__(self, client: httpx.AsyncClient, url: str, token: str, username: str) -> None:
        super().__init__(client, url)
        self.token = token
        self.conversation = f"staff:{username}"

    def request(self, text: str) -> tuple[dict[str, Any], dict[str, str]]:
        return {"message": text}, {"Authorization": f"Bearer {self.token}"}


class SocketUser:
    """A web-widget shopper: socket.io over a websocket, a session the server issues, replies as events."""

    def __init__(self, base_url: str) -> None:
        import socketio  # python-socketio's client (requirements/test.txt)

        self.base_url = base_url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.replies: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
        self.session: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.conversation = ""
        self.sio.on("bot_uttered", self._on_reply)
        self.sio.on("session_confirm", self._on_session)

    async def _on_reply(self, data: Any) -> None:
        self.replies.put_nowait((time.monotonic(), data if isinstance(data, dict) else {"text": str(data)}))

    async def _on_session(self, session_id: Any) -> None:
        if not self.session.done():
            self.session.set_result(str(session_id))

    async def start(self) -> None:
        await self.sio.connect(self.base_url, transports=["websocket"], wait_timeout=TURN_TIMEOUT_S)
        await self.sio.emit("session_request", {"session_id": None})
        self.conversation = await asyncio.wait_for(self.session, TURN_TIMEOUT_S)

    async def say(self, text: str) -> Reply:
        while not self.replies.empty():  # late replies of an earlier turn are not this turn's
            self.replies.get_nowait()
        started = time.monotonic()
        try:
            await self.sio.emit("user_uttered", {"message": text, "session_id": self.conversation})
            first_at, first = await asyncio.wait_for(self.replies.get(), TURN_TIMEOUT_S)
        except TimeoutError:
            return Reply(time.monotonic() - started, "TimeoutError", "")
        except Exception as exc:  # a dropped connection: socketio.exceptions.* and OSError alike
            return Reply(time.monotonic() - started, type(exc).__name__, "")
        messages, last_at = [first], first_at
        while True:
            try:
                last_at, message = await asyncio.wait_for(self.replies.get(), SOCKET_QUIET_S)
            except TimeoutError:
                break
            messages.append(message)
        error, answer = judge(messages)
        return Reply(last_at - started, error, answer)

    async def close(self) -> None:
        try:
            await self.sio.disconnect()
        except Exception:  # already gone
            pass
