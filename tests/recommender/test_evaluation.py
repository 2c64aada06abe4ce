from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from recommender.data import Interactions, clean_online_retail
from recommender.evaluation import make_split, ranking_metrics, top_k
from recommender.models import (
    ALS,
    ContentKNN,
    GlobalPopularity,
    Hybrid,
    ItemKNN,
    RecentPopularity,
    RepeatPurchase,
    UserKNN,
    repurchase_rate,
)


def test_cleaning_drops_each_rule_and_counts_it():
    raw = pd.DataFrame(
        {
            "InvoiceNo": ["1", "2", "C3", "4", "5", "6", "7"],
            "StockCode": ["85123A", "85123A", "85123A", "85123A", "85123A", "POST", "gift_0001_10"],
            "Description": ["x"] * 7,
            "Quantity": [1, 1, -1, 0, 1, 1, 1],
            "InvoiceDate": ["2011-01-01 10:00:00"] * 7,
            "UnitPrice": [1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0],
            "CustomerID": [1.0, None, 1.0, 1.0, 1.0, 1.0, 1.0],
        }
    )
    lines, report = clean_online_retail(raw)
    assert list(lines["order_id"]) == ["1"]
    assert (
        report.no_customer,
        report.cancellations,
        report.non_positive_quantity,
        report.non_positive_price,
        report.non_product,
    ) == (1, 1, 1, 1, 2)
    assert lines["customer_id"].iat[0] == "1"


def test_interaction_strength_counts_distinct_orders(toy_lines):
    inter = Interactions.from_lines(toy_lines)
    u1, paper = inter.user_index["u1"], inter.item_index["paper"]
    assert inter.strength[u1, paper] == 3  # o2, o3, o8
    assert inter.strength[inter.user_index["u2"], paper] == 0


def test_ranking_metrics_by_hand():
    # one user, 3 relevant items (one unknown to training), hits at ranks 1 and 3
    relevant = sparse.csr_matrix(np.array([[1, 0, 1, 0, 0]], dtype=np.float32))
    top = np.array([[0, 1, 2]])
    m = ranking_metrics(top, relevant, np.array([3]), n_items=5, k=3)
    assert m["recall10"] == pytest.approx(2 / 3)
    idcg = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    assert m["ndcg10"] == pytest.approx((1 + 1 / np.log2(4)) / idcg)
    assert m["map10"] == pytest.approx((1 + 2 / 3) / 3)
    assert m["hitrate10"] == 1.0
    assert m["coverage10"] == pytest.approx(3 / 5)


def test_top_k_excludes_and_orders():
    scores = np.array([[0.1, 0.9, 0.5, 0.7]])
    assert top_k(scores, 2).tolist() == [[1, 3]]
    assert top_k(scores, 2, sparse.csr_matrix(np.array([[0, 1, 0, 0]]))).tolist() == [[3, 2]]


def test_split_variants(toy_lines):
    a = make_split(toy_lines, "2011-04-01", None, "A")
    b = make_split(toy_lines, "2011-04-01", None, "B")
    # test users bought before and after 2011-04-01: u1 (paper, ram) and u3 (paper, board, ram)
    assert [a.train.users[r] for r in a.user_rows] == ["u1", "u3"]
    assert a.n_relevant.tolist() == [2, 3]
    # variant B keeps only never-bought-before items: u1 -> ram; u3 -> all three (u3 had cpu only)
    assert b.n_relevant.tolist() == [1, 3]
    assert b.exclude is not None and a.exclude is None
    with pytest.raises(ValueError):
        make_split(toy_lines, "2011-04-01", None, "C")


def test_models_rank_sensibly(toy_lines):
    train = Interactions.from_lines(
        toy_lines[toy_lines["ordered_at"] < "2011-04-01"], as_of=pd.Timestamp("2011-04-01")
    )
    items = list(train.items)
    u3 = np.array([train.user_index["u3"]])
    # u3 bought cpu only: item-kNN must put board (always bought with cpu) first
    knn = ItemKNN(neighbours=5, shrink=0.0).fit(train)
    assert items[int(np.argmax(knn.score(u3)[0]))] == "board"
    # repeat: u1's most repeated item is paper
    rep = RepeatPurchase(half_life_days=60).fit(train)
    assert items[int(np.argmax(rep.score(np.array([train.user_index["u1"]]))[0]))] == "paper"
    # cpu has the most buyers
    assert items[int(np.argmax(GlobalPopularity().fit(train).score(u3)[0]))] == "cpu"
    recent = RecentPopularity(window_days=40).fit(train)
    assert recent.score(u3).shape == (1, len(items))
    als = ALS(factors=4, iterations=3).fit(train)
    assert als.score(u3).shape == (1, len(items))
    # user-kNN: u3 (cpu) is closest to u2 (cpu, board, ram) and u1; it must rank board above paper
    uknn = UserKNN(neighbours=2, half_life_days=60).fit(train)
    s3 = uknn.score(u3)[0]
    assert s3[items.index("board")] > s3[items.index("paper")] > 0
    # the repurchase prior favours items people buy again: paper (u1, 2 orders) over one-off board
    assert repurchase_rate(train)[items.index("paper")] > repurchase_rate(train)[items.index("board")]
    prior = (
        RepeatPurchase(half_life_days=1e6, item_prior=1.0)
        .fit(train)
        .score(np.array([train.user_index["u1"]]))[0]
    )
    flat = RepeatPurchase(half_life_days=1e6).fit(train).score(np.array([train.user_index["u1"]]))[0]
    assert (
        prior[items.index("board")] / prior[items.index("paper")]
        < flat[items.index("board")] / flat[items.index("paper")]
    )
    hybrid = Hybrid({"repeat": RepeatPurchase(), "itemknn": ItemKNN()}, {"repeat": 1.0, "itemknn": 1.0}).fit(
        train
    )
    s = hybrid.score(u3)
    assert s.max() <= 2.0 + 1e-6 and s.min() >= 0.0
    with pytest.raises(ValueError):
        Hybrid({"repeat": RepeatPurchase()}, {"repeat": 0.0}).fit(train).score(u3)


def _grouped_history(seed: int = 0) -> pd.DataFrame:
    """120 customers, each loyal to one of 4 item groups of 15 items; monthly orders in 2011."""
    rng = np.random.default_rng(seed)
    rows = []
    n = 0
    for c in range(120):
        group = c % 4
        for month in range(1, 13):
            if rng.random() < 0.6:
                n += 1
                for item in rng.choice(15, size=3, replace=False):
                    rows.append(
                        (
                            f"c{c}",
                            f"o{n}",
                            f"g{group}-{item}",
                            1,
                            1.0,
                            f"2011-{month:02d}-{rng.integers(1, 28):02d}",
                        )
                    )
    df = pd.DataFrame(
        rows, columns=["customer_id", "order_id", "sku", "quantity", "unit_price", "ordered_at"]
    )
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    return df


@pytest.mark.slow
def test_run_protocol_end_to_end():
    from recommender.data import RetailItem
    from recommender.evaluation import ProtocolConfig, run_protocol

    lines = _grouped_history()
    products = {s: RetailItem(s, f"{s.split('-')[0]} collection piece", 1.0) for s in lines["sku"].unique()}
    result = run_protocol(
        lines,
        ProtocolConfig(val_start="2011-07-01", test_start="2011-10-01", test_end=None),
        products=products,
    )
    assert len(result.results) == 17 and {r.variant for r in result.results} == {"A", "B"}
    for r in result.results:
        assert all(0.0 <= v <= 1.0 for v in r.metrics.values()), r
    by = {(r.variant, r.model): r.metrics["ndcg10"] for r in result.results}
    # group structure: collaborative models must beat global popularity in discovery
    assert max(by["B", "itemknn"], by["B", "als"], by["B", "hybrid"]) > by["B", "pop_global"] + 0.05
    assert set(result.tuned["B"].hybrid_weights) == {
        "repeat",
        "itemknn",
        "userknn",
        "als",
        "pop_recent",
        "content",
    }
    # "best" is chosen on validation and reported from the test run of that same model
    best = result.tuned["B"].best_model
    assert result.best("B").model == best and result.tuned["B"].validation[best]["ndcg10"] == max(
        m["ndcg10"] for m in result.tuned["B"].validation.values()
    )
    # the item names carry the group: content-based alone must find the group's other items
    assert by["B", "content"] > by["B", "pop_global"] + 0.05
    assert result.split_stats["A"]["test_users"] > 0
    assert len(result.split_stats["A"]["validation_users"]) == 2  # June, then July–September


def test_single_customer_path_matches_the_batch_path(toy_lines):
    """Serving one customer takes numpy fast paths; they must give the batch scores exactly."""
    from recommender.data import RetailItem

    train = Interactions.from_lines(toy_lines)
    products = {s: RetailItem(s, f"{s} part", 10.0) for s in train.items}
    rows = np.arange(len(train.users))
    for model in (
        RepeatPurchase(half_life_days=30, item_prior=1.0),
        ItemKNN(neighbours=3),
        UserKNN(neighbours=2),
        ContentKNN(products, neighbours=3),
        ALS(factors=4, iterations=2),
    ):
        model.fit(train)
        batch = model.score(rows)
        for r in rows:
            np.testing.assert_allclose(model.score(np.array([r]))[0], batch[r], rtol=1e-5, atol=1e-6)


def test_validation_folds_lie_before_the_test_period():
    from recommender.evaluation import ProtocolConfig

    folds = ProtocolConfig().validation_folds()
    assert [(str(a.date()), str(b.date())) for a, b in folds] == [
        ("2011-06-01", "2011-08-01"),
        ("2011-08-01", "2011-10-01"),
    ]
    with pytest.raises(ValueError):
        ProtocolConfig(val_start="2011-10-15").validation_folds()


def test_interactions_before_match_the_earlier_lines(toy_lines):
    """Cutting the purchase events must give what the earlier order lines give, on the same axes."""
    inter = Interactions.from_lines(toy_lines, as_of=pd.Timestamp("2011-05-01"))
    earlier, label = inter.before(40.0)  # as of 2011-03-22
    cut = pd.Timestamp("2011-03-22")
    direct = Interactions.from_lines(toy_lines[toy_lines["ordered_at"] < cut], as_of=cut, items=inter.items)
    rows = [inter.user_index[u] for u in direct.users]
    assert abs(earlier.strength[rows] - direct.strength).max() == 0
    assert abs(earlier.days_since[rows] - direct.days_since).max() < 1e-4
    assert earlier.as_of == cut
    bought_late = {(inter.users[r], inter.items[c]) for r, c in zip(*label.nonzero())}
    assert bought_late == {("u3", "paper"), ("u1", "paper"), ("u1", "ram"), ("u3", "board"), ("u3", "ram")}
    assert set(label.data) == {1.0}
    assert (
        inter.orders_per_user()[inter.user_index["u1"]] == 4
        and earlier.orders_per_user()[inter.user_index["u3"]] == 1
    )


def test_pairwise_logistic_orders_pairs_by_the_informative_feature():
    from recommender.ranker import pairwise_logistic

    rng = np.random.default_rng(0)
    diff = rng.normal(size=(2000, 3))
    diff[:, 0] = np.abs(diff[:, 0]) + 0.1  # the better item always has more of feature 0
    w = pairwise_logistic(diff, l2=1.0)
    assert w[0] > 1.0 and abs(w[1]) < 0.5 * w[0] and abs(w[2]) < 0.5 * w[0]


def test_ranker_learns_rebuying_and_serves_one_customer_as_the_batch():
    """Customers rebuy their group's staples: the ranker, trained on its last 61 days, must rank
    them above global popularity, and one customer's scores must equal the batch's."""
    from recommender.ranker import NOT_CANDIDATE, LearnedRanker

    lines = _grouped_history()
    split = make_split(lines, "2011-10-01", None, "A")
    ranker = LearnedRanker({"repeat": RepeatPurchase, "pop": RecentPopularity}, candidates=5).fit(split.train)
    scores = ranker.score(split.user_rows)
    assert ((scores > NOT_CANDIDATE).sum(axis=1) >= 5).all()
    rank = ranking_metrics(top_k(scores), split.relevant, split.n_relevant, len(split.train.items))
    pop = ranking_metrics(
        top_k(GlobalPopularity().fit(split.train).score(split.user_rows)),
        split.relevant,
        split.n_relevant,
        len(split.train.items),
    )
    assert rank["ndcg10"] > pop["ndcg10"] + 0.1
    for r in split.user_rows[:5]:
        np.testing.assert_allclose(
            ranker.score(np.array([r]))[0], scores[list(split.user_rows).index(r)], rtol=1e-5
        )
