"""The shop's recommender: trained from the order history, served to the actions.

Typed API (all three return items with a reason key + params, rendered in English or Chinese):
- `recommend_for_customer`: personalised (the customer's orders) and contextual (what they looked
  at and have in the cart in this conversation); popularity per category is the floor;
- `similar_items`: "similar to X" — co-purchase similarity blended with catalogue similarity, so a
  new item nobody bought yet still has neighbours;
- `bought_together`: "customers who bought X also bought" / "what goes with this?" — basket rules
  with support, confidence and lift.

Never recommended: what is out of stock everywhere, what is incompatible with the cart. Both checks
are injectable predicates because stock lives in the order service and compatibility in the
knowledge graph; by default nothing is filtered.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from daogou.files import atomic_path
from recommender.baskets import BasketStats, PairRule
from recommender.content import ContentIndex, ProductLike
from recommender.data import Interactions, fingerprint_lines, load_texts, validate_order_lines
from recommender.models import ALS, ItemKNN, RecentPopularity, RepeatPurchase, normalise_rows

InStock = Callable[[str], bool]  # sku -> available in at least one place
CompatibleWithCart = Callable[[str, Sequence[str]], bool]  # candidate sku, cart skus -> fits

# One line per reason, in both languages (recommender/texts.yaml); params fill the placeholders.
REASON_TEMPLATES: dict[str, dict[str, str]] = load_texts()["reasons"]


@dataclass(frozen=True)
class Reason:
    key: str
    params: dict[str, str] = field(default_factory=dict, hash=False)

    def text(self, lang: str = "en") -> str:
        templates = REASON_TEMPLATES[self.key]
        return templates.get(lang, templates["en"]).format(**self.params)


@dataclass(frozen=True)
class Recommendation:
    sku: str
    score: float
    reason: Reason


@dataclass(frozen=True)
class BoughtTogether:
    sku: str
    support: float
    confidence: float
    lift: float
    together: int
    reason: Reason


@dataclass(frozen=True)
class ShopConfig:
    """Blend weights for the shop. ALS : item-kNN : popularity : content follow the variant-B tuning
    in docs/recommender.md (0.5 : 0.25 : 0.3 : 0.25, doubled); session context, which the offline
    data cannot measure, weighs most."""

    weight_als: float = 1.0
    weight_itemknn: float = 0.5
    weight_popular: float = 0.6
    weight_repeat: float = 0.0  # > 0 lets the shop suggest buying an item again (consumables)
    weight_context: float = 1.5  # co-purchase with items viewed / in the cart during the conversation
    weight_context_content: float = 0.5  # catalogue similarity to those items
    weight_content: float = 0.5  # catalogue similarity to past purchases
    exclude_purchased: bool = True  # durable goods: do not suggest what the customer already owns
    recent_days: float = 30.0
    knn_neighbours: int = 50
    als_factors: int = 64
    als_min_customers: int = 20  # below this ALS is not fitted (too little data to factorise)
    min_together: int = 2


@dataclass
class ShopModel:
    """Everything trained from one order history (+ catalogue): pickled under the state dir."""

    config: ShopConfig
    interactions: Interactions
    repeat: RepeatPurchase
    itemknn: ItemKNN
    als: ALS | None
    popular: np.ndarray  # recent popularity per item (interaction axis)
    baskets: BasketStats
    content: ContentIndex | None
    names: dict[str, str]  # sku -> display name
    categories: dict[str, str]  # sku -> category id
    prices: dict[str, float]  # sku -> price
    category_names: dict[str, str]  # category id -> display name
    fingerprint: str
    trained_at: float
    train_seconds: float


def train_shop_model(
    lines: pd.DataFrame,
    products: Iterable[ProductLike] | None = None,
    category_names: Mapping[str, str] | None = None,
    config: ShopConfig = ShopConfig(),
) -> ShopModel:
    """Fit every component on the order history; `products` enables content similarity and names."""
    validate_order_lines(lines)
    t0 = time.perf_counter()
    products = list(products or [])
    inter = Interactions.from_lines(lines)
    repeat = RepeatPurchase(half_life_days=120).fit(inter)
    knn = ItemKNN(neighbours=config.knn_neighbours, shrink=0.0).fit(inter)
    als = (
        ALS(factors=config.als_factors, regularization=0.01, alpha=2.0).fit(inter)
        if len(inter.users) >= config.als_min_customers
        else None
    )
    popular = RecentPopularity(window_days=config.recent_days).fit(inter).popularity
    return ShopModel(
        config=config,
        interactions=inter,
        repeat=repeat,
        itemknn=knn,
        als=als,
        popular=popular,
        baskets=BasketStats.from_lines(lines),
        content=ContentIndex.build(products) if products else None,
        names={p.sku: p.name for p in products},
        categories={p.sku: p.category_id for p in products},
        prices={p.sku: float(p.price) for p in products},
        category_names=dict(category_names or {}),
        fingerprint=model_fingerprint(lines, products, config),
        trained_at=time.time(),
        train_seconds=time.perf_counter() - t0,
    )


def model_fingerprint(lines: pd.DataFrame, products: Sequence[ProductLike], config: ShopConfig) -> str:
    h = hashlib.sha256(fingerprint_lines(lines).encode())
    h.update(json.dumps(config.__dict__, sort_keys=True).encode())
    for p in products:
        h.update(
            f"{p.sku}|{p.name}|{p.brand}|{p.price}|{p.category_id}|{p.part_type}|"
            f"{json.dumps(p.attributes, sort_keys=True, default=str)}".encode()
        )
    return h.hexdigest()[:16]


def save_model(model: ShopModel, directory: Path) -> Path:
    path = directory / f"shop-model-{model.fingerprint}.pkl"
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    (directory / "shop-model.latest").write_text(path.name + "\n", encoding="utf-8")
    return path


def load_model(directory: Path) -> ShopModel:
    """Load the latest trained model (only our own artefact files under the state dir are unpickled)."""
    pointer = directory / "shop-model.latest"
    if not pointer.exists():
        raise FileNotFoundError(f"no trained recommender in {directory}; run `daogou recommend train`")
    with (directory / pointer.read_text(encoding="utf-8").strip()).open("rb") as fh:
        return pickle.load(fh)


class ShopRecommender:
    """Serves a ShopModel with stock and compatibility filters. Cheap to call; build once per process."""

    def __init__(
        self,
        model: ShopModel,
        in_stock: InStock | None = None,
        compatible_with_cart: CompatibleWithCart | None = None,
    ) -> None:
        self.model = model
        self.in_stock = in_stock or (lambda sku: True)
        self.compatible_with_cart = compatible_with_cart or (lambda sku, cart: True)
        inter = model.interactions
        self._items = inter.items
        # Content similarities live on the catalogue axis; map it onto the interaction axis and
        # keep catalogue-only items (never ordered) reachable for the content-based paths.
        self._content_pos = (
            np.array([model.content.sku_index.get(s, -1) for s in inter.items]) if model.content else None
        )

    # --- helpers ----------------------------------------------------------------------------
    def name(self, sku: str) -> str:
        return self.model.names.get(sku, sku)

    def _admissible(self, sku: str, cart: Sequence[str], exclude: set[str]) -> bool:
        return (
            sku not in exclude
            and sku not in cart
            and self.in_stock(sku)
            and (not cart or self.compatible_with_cart(sku, cart))
        )

    def _take(
        self, ranked: Iterable[tuple[str, float, Reason]], k: int, cart: Sequence[str], exclude: set[str]
    ) -> list[Recommendation]:
        out: list[Recommendation] = []
        # Variants sold under one name (capacities, colours) count as the same product: once is enough.
        seen_names = {self.model.names[s] for s in [*exclude, *cart] if s in self.model.names}
        for sku, score, reason in ranked:
            name = self.model.names.get(sku)
            if name in seen_names or not self._admissible(sku, cart, exclude):
                continue
            out.append(Recommendation(sku, round(float(score), 6), reason))
            exclude = exclude | {sku}
            if name is not None:
                seen_names.add(name)
            if len(out) == k:
                break
        return out

    def _content_on_items(self, skus: Sequence[str]) -> np.ndarray:
        if self.model.content is None:
            return np.zeros(len(self._items), np.float32)
        sims = self.model.content.similarities(skus)
        return np.where(self._content_pos >= 0, sims[np.maximum(self._content_pos, 0)], 0.0).astype(
            np.float32
        )

    def _group(self, sku: str) -> str | None:
        """Part type (or category) of an item: items of one group are alternatives to each other."""
        c = self.model.content
        return str(c.groups[c.sku_index[sku]]) if c is not None and sku in c.sku_index else None

    def _knn_from(self, skus: Sequence[str]) -> np.ndarray:
        """Item-kNN scores from a set of source items (the session context or a single item)."""
        rows = [
            self.model.interactions.item_index[s] for s in skus if s in self.model.interactions.item_index
        ]
        if not rows:
            return np.zeros(len(self._items), np.float32)
        return np.asarray(self.model.itemknn.similarity[rows].sum(axis=0)).ravel().astype(np.float32)

    def _best_source(self, target: int, sources: Sequence[str]) -> str | None:
        """The source item most similar to `target` (by co-purchase, else by content): the 'because'."""
        index = self.model.interactions.item_index
        known = [s for s in sources if s in index]
        if known:
            sims = self.model.itemknn.similarity[[index[s] for s in known], target].toarray().ravel()
            if sims.max() > 0:
                return known[int(np.argmax(sims))]
        c = self.model.content
        if c is None or self._content_pos[target] < 0:
            return None
        in_catalogue = [s for s in sources if s in c.sku_index]
        if not in_catalogue:
            return None
        sims = (
            (c.matrix[[c.sku_index[s] for s in in_catalogue]] @ c.matrix[self._content_pos[target]].T)
            .toarray()
            .ravel()
        )
        return in_catalogue[int(np.argmax(sims))] if sims.max() > 0 else None

    # --- the three questions ----------------------------------------------------------------
    def recommend_for_customer(
        self,
        customer_id: str | None = None,
        viewed: Sequence[str] = (),
        cart: Sequence[str] = (),
        k: int = 5,
        category_id: str | None = None,
        among: Sequence[str] | None = None,
    ) -> list[Recommendation]:
        """ "Recommend me something": blend of the customer's history model (ALS, item-kNN, repeat),
        the conversation's context (viewed + cart) and recent popularity; popularity alone for an
        unknown shopper without context. `category_id` restricts the list to one category, `among`
        to the given items ("which of these would you recommend?": those ever ordered, ranked)."""
        if k <= 0:
            raise ValueError("k must be positive")
        cfg, inter = self.model.config, self.model.interactions
        row = inter.user_index.get(str(customer_id)) if customer_id is not None else None
        parts: dict[str, np.ndarray] = {"popular": self.model.popular[None, :]}
        history: list[str] = []
        if row is not None:
            user = np.array([row])
            history = [str(inter.items[j]) for j in inter.strength[row].indices]
            parts["itemknn"] = self.model.itemknn.score(user)
            if self.model.als is not None:
                parts["als"] = self.model.als.score(user)
            if cfg.weight_repeat:
                parts["repeat"] = self.model.repeat.score(user)
        context = list(dict.fromkeys([*cart, *viewed]))
        if context:
            parts["context"] = self._knn_from(context)[None, :]
        if (
            viewed
        ):  # catalogue similarity finds alternatives: useful for what they looked at, not for the cart
            parts["context_content"] = self._content_on_items(list(viewed))[None, :]
        if history and self.model.content is not None:
            parts["content"] = self._content_on_items(history[-20:])[None, :]
        weights = {
            "popular": cfg.weight_popular,
            "itemknn": cfg.weight_itemknn,
            "als": cfg.weight_als,
            "repeat": cfg.weight_repeat,
            "context": cfg.weight_context,
            "content": cfg.weight_content,
            "context_content": cfg.weight_context_content,
        }
        contributions = {
            key: weights[key] * normalise_rows(value)[0] for key, value in parts.items() if weights[key]
        }
        if not contributions:
            raise ValueError("every blend weight is zero; set at least weight_popular")
        total = np.sum(list(contributions.values()), axis=0)
        exclude = (set(history) if cfg.exclude_purchased and not cfg.weight_repeat else set()) | set(viewed)
        candidates = np.argsort(-total, kind="stable")
        if among is not None:
            index = self.model.interactions.item_index
            candidates = sorted((index[s] for s in set(among) if s in index), key=lambda j: (-total[j], j))
        elif category_id is not None:
            candidates = [
                j for j in candidates if self.model.categories.get(str(self._items[j])) == category_id
            ]
        elif cart:  # the cart already has one of those: suggest what completes it, not alternatives
            cart_groups = {self._group(s) for s in cart} - {None}
            candidates = [j for j in candidates if self._group(str(self._items[j])) not in cart_groups]
        ranked = (
            (str(self._items[j]), total[j], self._reason(j, contributions, row, history, viewed, cart))
            for j in candidates[: 50 * k + 100]
        )
        result = self._take(ranked, k, cart, exclude)
        if len(result) < k and category_id is not None and self.model.content is not None:
            result += self._category_floor(
                category_id, k - len(result), cart, exclude | {r.sku for r in result}
            )
        return result

    def _reason(
        self,
        j: int,
        contributions: dict[str, np.ndarray],
        row: int | None,
        history: Sequence[str],
        viewed: Sequence[str],
        cart: Sequence[str],
    ) -> Reason:
        """The most concrete true reason: a named source item when one links to the candidate
        (context first, then history), else repeat, similar taste, popularity."""

        def has(*keys: str) -> bool:
            return any(contributions.get(k, np.zeros(1))[j] > 0.05 for k in keys if k in contributions)

        if has("context", "context_content"):
            source = self._best_source(j, list(cart) + list(viewed))
            if source is not None:
                key = "goes_with_cart" if source in cart else "because_you_viewed"
                return Reason(key, {"item": self.name(source), "sku": source})
        if has("itemknn", "content") and history:
            source = self._best_source(j, history)
            if source is not None:
                return Reason("because_you_bought", {"item": self.name(source), "sku": source})
        if has("repeat") and row is not None and self.model.interactions.strength[row, j] > 0:
            return Reason("buy_again", {"times": str(int(self.model.interactions.strength[row, j]))})
        if has("als"):
            return Reason("similar_taste")
        category = self.model.categories.get(str(self._items[j]))
        if category and category in self.model.category_names:
            return Reason("popular_in_category", {"category": self.model.category_names[category]})
        return Reason("popular_now")

    def _category_floor(
        self, category_id: str, k: int, cart: Sequence[str], exclude: set[str]
    ) -> list[Recommendation]:
        """Catalogue items of the category that the models did not rank (never ordered), cheapest first."""
        name = self.model.category_names.get(category_id)
        reason = Reason("popular_in_category", {"category": name}) if name else Reason("popular_now")
        skus = sorted(
            (s for s, c in self.model.categories.items() if c == category_id),
            key=lambda s: (self.model.prices.get(s, 0.0), s),
        )
        return self._take(((s, 0.0, reason) for s in skus), k, cart, exclude)

    def similar_items(self, sku: str, k: int = 5, cart: Sequence[str] = ()) -> list[Recommendation]:
        """ "Similar to X": same part type / category; co-purchase similarity where the item has
        buyers, catalogue similarity always (so new items work)."""
        content = self.model.content
        if sku not in self.model.interactions.item_index and (
            content is None or sku not in content.sku_index
        ):
            raise KeyError(f"unknown sku {sku!r}")
        scores: dict[str, tuple[float, str]] = {}
        if content is not None and sku in content.sku_index:
            for other, sim in content.similar(sku, k=10 * k + 20):
                scores[other] = (sim, "similar_to")
        knn = self._knn_from([sku])
        group = (
            content.groups[content.sku_index[sku]]
            if content is not None and sku in content.sku_index
            else None
        )
        for j in np.flatnonzero(knn > 0):
            other = str(self._items[j])
            if group is not None and (
                other not in content.sku_index or content.groups[content.sku_index[other]] != group
            ):
                continue  # "similar" means an alternative, not an accessory
            prev = scores.get(other, (0.0, "similar_to"))[0]
            scores[other] = (
                prev + float(knn[j]),
                "bought_by_same_customers" if float(knn[j]) > prev else "similar_to",
            )
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1][0], kv[0]))
        params = {"item": self.name(sku), "sku": sku}
        return self._take(((s, v, Reason(key, params)) for s, (v, key) in ranked), k, cart, {sku})

    def bought_together(
        self, sku: str, k: int = 5, cart: Sequence[str] = (), by: str = "lift"
    ) -> list[BoughtTogether]:
        """ "Customers who bought X also bought" / "what goes with this?": basket rules X → Y with
        support, confidence and lift; only pairs seen in at least `min_together` orders. The
        compatibility filter checks Y against the cart plus X itself."""
        if by not in ("lift", "confidence"):
            raise ValueError("by must be 'lift' or 'confidence'")
        rules: list[PairRule] = self.model.baskets.rules_for(sku, self.model.config.min_together, k=None)
        if by == "confidence":
            rules.sort(key=lambda r: (-r.confidence, -r.lift, r.consequent))
        basket = list(dict.fromkeys([*cart, sku]))
        out = []
        for r in rules:
            if (
                r.consequent in basket
                or not self.in_stock(r.consequent)
                or not self.compatible_with_cart(r.consequent, basket)
            ):
                continue
            out.append(
                BoughtTogether(
                    r.consequent,
                    round(r.support, 6),
                    round(r.confidence, 4),
                    round(r.lift, 3),
                    r.together,
                    Reason(
                        "often_bought_with",
                        {"item": self.name(sku), "sku": sku, "confidence": str(round(100 * r.confidence))},
                    ),
                )
            )
            if len(out) == k:
                break
        return out


def model_dir() -> Path:
    from daogou.config import get_settings

    return get_settings().state_dir / "recommender"


_LOADED: dict[Path, tuple[str, ShopModel]] = {}


def get_shop_recommender(
    in_stock: InStock | None = None,
    compatible_with_cart: CompatibleWithCart | None = None,
    directory: Path | None = None,
) -> ShopRecommender:
    """The action server's entry point: loads the trained model once per process and wraps it with
    the given filters (the order service's stock check, the knowledge graph's compatibility).
    A retrained model (`daogou recommend train`) is picked up on the next call, without a restart."""
    directory = directory or model_dir()
    pointer = directory / "shop-model.latest"
    current = pointer.read_text(encoding="utf-8").strip() if pointer.exists() else ""
    if directory not in _LOADED or _LOADED[directory][0] != current:
        _LOADED[directory] = (current, load_model(directory))
    return ShopRecommender(_LOADED[directory][1], in_stock, compatible_with_cart)
