from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender import analytics as A
from recommender.clv import BetaGeoModel, GammaGammaModel
from tests.recommender.conftest import make_lines


def test_segment_rules_cover_every_cell_once():
    for r in range(1, 6):
        for f in range(1, 6):
            matches = [k for k, (r0, r1), (f0, f1), *_ in A.SEGMENT_RULES if r0 <= r <= r1 and f0 <= f <= f1]
            assert len(matches) == 1, (r, f, matches)
    assert A.segment_for(5, 5) == "champions" and A.segment_for(1, 1) == "hibernating"
    assert all(set(v) == {"en", "zh"} and all(v.values()) for v in A.SEGMENT_LABELS.values())
    assert all(set(v) == {"en", "zh"} and all(v.values()) for v in A.SEGMENT_ACTIONS.values())


def test_rfm_orders_and_scores(toy_lines):
    table = A.rfm(toy_lines, as_of=pd.Timestamp("2011-05-01"))
    assert table.loc["u1", "frequency"] == 4  # o1, o2, o3, o8
    assert table.loc["u1", "monetary"] == pytest.approx(200 + 120 + 10 + 5 + 5 + 60)
    assert table.loc["u2", "recency_days"] == (pd.Timestamp("2011-05-01") - pd.Timestamp("2011-03-02")).days
    # u2 is the least recent, u1 the most frequent
    assert table["r_score"].idxmin() == "u2" and table["f_score"].idxmax() == "u1"
    profile = A.customer_profile(table, "u1")
    assert profile.orders == 4 and profile.segment_label_zh == A.SEGMENT_LABELS[profile.segment]["zh"]
    with pytest.raises(KeyError):
        A.customer_profile(table, "nobody")
    with pytest.raises(ValueError):
        A.customers_in_segment(table, "vip")


def test_cohort_retention_and_rates():
    lines = make_lines(
        [
            ("a", "1", "x", 1, 10.0, "2011-01-03"),
            ("a", "2", "x", 1, 30.0, "2011-02-03"),
            ("b", "3", "x", 2, 10.0, "2011-01-09"),
            ("c", "4", "x", 1, 10.0, "2011-02-10"),
            ("c", "5", "y", 1, 10.0, "2011-03-10"),
        ]
    )
    retention, sizes = A.cohort_retention(lines)
    assert sizes.to_dict() == {"2011-01": 2, "2011-02": 1}
    assert retention.loc["2011-01", 1] == 0.5 and retention.loc["2011-01", 2] == 0.0
    assert retention.loc["2011-02", 1] == 1.0 and np.isnan(
        retention.loc["2011-02", 2]
    )  # after the data's end
    assert A.average_order_value(lines) == pytest.approx((10 + 30 + 20 + 10 + 10) / 5)
    assert A.repurchase_rate(lines) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        A.orders(lines.drop(columns="sku"))


def _simulate_bgnbd(n, r, alpha, a, b, T_cal, T_hold, seed=0):
    """Customers who buy at Poisson rate λ~Gamma(r, α) and drop out with p~Beta(a, b) after each purchase."""
    rng = np.random.default_rng(seed)
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    x, t_x, hold = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T_cal + T_hold:
                break
            if t <= T_cal:
                x[i] += 1
                t_x[i] = t
            else:
                hold[i] += 1
            if rng.random() < p[i]:
                break
    return x, t_x, np.full(n, T_cal), hold


@pytest.mark.slow
def test_bgnbd_recovers_simulated_customers():
    x, t_x, T, hold = _simulate_bgnbd(3000, 0.5, 5.0, 0.8, 2.5, 40.0, 30.0, seed=3)
    bg = BetaGeoModel().fit(x, t_x, T)
    assert bg.r == pytest.approx(0.5, rel=0.25) and bg.alpha == pytest.approx(5.0, rel=0.35)
    predicted = bg.expected_purchases(30.0, x, t_x, T)
    assert predicted.sum() == pytest.approx(hold.sum(), rel=0.12)
    alive = bg.p_alive(x, t_x, T)
    assert np.all((alive > 0) & (alive <= 1)) and alive[x == 0].min() == 1.0


def test_gamma_gamma_recovers_spend():
    rng = np.random.default_rng(1)
    p, q, gamma = 4.0, 5.0, 30.0
    nu = rng.gamma(q, 1 / gamma, 2000)
    x = rng.integers(1, 8, 2000).astype(float)
    m = np.array([rng.gamma(p, 1 / n_, int(k)).mean() for n_, k in zip(nu, x)])
    gg = GammaGammaModel().fit(x, m)
    assert gg.population_mean == pytest.approx(p * gamma / (q - 1), rel=0.1)
    # shrinkage: a one-purchase customer sits between their own mean and the population mean
    ev = gg.expected_value(np.array([1.0]), np.array([1000.0]))[0]
    assert gg.population_mean < ev < 1000.0


def test_clv_table(toy_lines):
    lines = pd.concat(
        [
            toy_lines.assign(
                customer_id=toy_lines["customer_id"] + f"-{i}",
                ordered_at=toy_lines["ordered_at"] + pd.Timedelta(days=3 * i),
            )
            for i in range(12)
        ],
        ignore_index=True,
    )
    table, bg, gg = A.customer_lifetime_value(lines, A.CLVConfig(horizon_weeks=26))
    assert set(table.columns) >= {"p_alive", "expected_orders", "expected_value", "clv"}
    assert (table["clv"] >= 0).all() and (table["expected_orders"] > 0).all()


def test_staff_answers(toy_lines):
    from recommender.staff import CustomerAnalytics

    lines = pd.concat(
        [
            toy_lines.assign(
                customer_id=toy_lines["customer_id"] + f"-{i}",
                ordered_at=toy_lines["ordered_at"] + pd.Timedelta(days=5 * i),
            )
            for i in range(10)
        ],
        ignore_index=True,
    )
    staff = CustomerAnalytics(lines)
    profile = staff.segment_of("u1-9")
    assert profile.segment in A.SEGMENT_LABELS and profile.orders == 4
    overview = staff.overview()
    assert overview.customers == 30 and sum(s.customers for s in overview.segments) == 30
    assert abs(sum(s.revenue_share for s in overview.segments) - 1) < 1e-3
    members = staff.customers_in(profile.segment, limit=50)
    assert "u1-9" in [m.customer_id for m in members]
    assert [m.total_spend for m in members] == sorted((m.total_spend for m in members), reverse=True)
    value = staff.value_of("u1-9")
    assert value.clv >= 0 and 0 < value.p_alive <= 1
    with pytest.raises(KeyError):
        staff.value_of("nobody")
