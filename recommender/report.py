"""Analytics summary and figures (cohort-retention heatmap, RFM segment chart) for docs/analytics.md
and `daogou recommend analytics`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from recommender import analytics as A


@dataclass
class AnalyticsReport:
    customers: int
    orders: int
    revenue: float
    average_order_value: float
    repurchase_rate: float
    segments: pd.DataFrame
    retention: pd.DataFrame
    cohort_sizes: pd.Series
    clv: pd.DataFrame
    clv_params: dict[str, float]
    holdout: A.HoldoutCheck | None

    def summary(self) -> dict:
        """JSON-ready headline numbers."""
        month1 = self.retention[1].dropna()
        return {
            "customers": self.customers,
            "orders": self.orders,
            "revenue": round(self.revenue, 2),
            "average_order_value": round(self.average_order_value, 2),
            "repurchase_rate": round(self.repurchase_rate, 4),
            "month1_retention_mean": round(float(month1.mean()), 4),
            "segments": {
                k: {
                    "customers": int(r.customers),
                    "customer_share": round(float(r.customer_share), 4),
                    "revenue_share": round(float(r.revenue_share), 4),
                }
                for k, r in self.segments.iterrows()
            },
            "clv_params": {k: round(v, 4) for k, v in self.clv_params.items()},
            "clv_mean": round(float(self.clv["clv"].mean()), 2),
            "clv_median": round(float(self.clv["clv"].median()), 2),
            "clv_top10pct_share": round(
                float(self.clv["clv"].nlargest(max(1, len(self.clv) // 10)).sum() / self.clv["clv"].sum()), 4
            ),
            "holdout": asdict(self.holdout) if self.holdout else None,
        }


def analytics_report(
    lines: pd.DataFrame, clv_config: A.CLVConfig = A.CLVConfig(), holdout_start: str | None = None
) -> AnalyticsReport:
    o = A.orders(lines)
    table = A.rfm(lines)
    retention, sizes = A.cohort_retention(lines)
    clv, bg, gg = A.customer_lifetime_value(lines, clv_config)
    params = {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b, "p": gg.p, "q": gg.q, "v": gg.v}
    return AnalyticsReport(
        customers=o["customer_id"].nunique(),
        orders=len(o),
        revenue=float(o["value"].sum()),
        average_order_value=float(o["value"].mean()),
        repurchase_rate=A.repurchase_rate(lines),
        segments=A.segment_summary(table),
        retention=retention,
        cohort_sizes=sizes,
        clv=clv,
        clv_params={k: float(v) for k, v in params.items()},
        holdout=A.clv_holdout_check(lines, holdout_start) if holdout_start else None,
    )


def write_figures(report: AnalyticsReport, out_dir: Path, title: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    ret = report.retention
    fig, ax = plt.subplots(figsize=(10, 5.5))
    im = ax.imshow(
        ret.to_numpy(dtype=float),
        cmap="viridis",
        vmin=0,
        vmax=max(0.5, float(np.nanmax(ret.iloc[:, 1:].to_numpy()))) if ret.shape[1] > 1 else 1,
    )
    ax.set_xticks(range(ret.shape[1]), ret.columns)
    ax.set_yticks(range(ret.shape[0]), [f"{c} (n={report.cohort_sizes[c]})" for c in ret.index])
    for i in range(ret.shape[0]):
        for j in range(ret.shape[1]):
            v = ret.iat[i, j]
            if not np.isnan(v):
                ax.text(
                    j,
                    i,
                    f"{v:.0%}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if v < 0.35 else "black",
                )
    ax.set_xlabel("months since first order")
    ax.set_title(
        f"{title}: monthly cohort retention\n(share of each first-order cohort ordering again k months later)",
        fontsize=10,
    )
    fig.colorbar(im, ax=ax, fraction=0.03)
    fig.tight_layout()
    paths.append(out_dir / "cohort_retention.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    seg = report.segments
    labels = [A.SEGMENT_LABELS[k]["en"] for k in seg.index]
    y = np.arange(len(seg))
    fig, ax = plt.subplots(figsize=(9, 5))
    ax.barh(y - 0.2, seg["customer_share"], 0.4, label="share of customers")
    ax.barh(y + 0.2, seg["revenue_share"], 0.4, label="share of revenue")
    for i, n in enumerate(seg["customers"]):
        ax.text(
            max(seg["customer_share"].iat[i], seg["revenue_share"].iat[i]) + 0.005,
            y[i],
            f"{n} customers",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_title(f"{title}: RFM segments")
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    paths.append(out_dir / "rfm_segments.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths
