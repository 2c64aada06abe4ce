"""Where the shop recommender's order history comes from.

The order service's database is the source of truth (orders + order_lines tables); a JSONL file
written by the demo generator serves when the service has not loaded it yet, and for tests.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from recommender.data import ORDER_LINE_COLUMNS, validate_order_lines

# Orders that represent a purchase: not pending payment, not cancelled or returned.
PURCHASE_STATUSES = ("confirmed", "ready_for_pickup", "shipped", "completed", "return_requested")


def order_lines_from_database(url: str) -> pd.DataFrame:
    """Read-only query of the order service's tables (orders, order_lines) into canonical order lines."""
    from sqlalchemy import bindparam, create_engine, text

    query = text(
        "SELECT o.customer_id AS customer_id, o.id AS order_id, l.sku AS sku, l.quantity AS quantity, "
        "l.unit_price AS unit_price, o.created_at AS ordered_at "
        "FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.status IN :statuses"
    ).bindparams(bindparam("statuses", expanding=True))
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            df = pd.read_sql(query, conn, params={"statuses": list(PURCHASE_STATUSES)})
    finally:
        engine.dispose()
    return _canonical(df)


def order_lines_from_jsonl(path: Path) -> pd.DataFrame:
    """Order lines from a JSONL file: either the demo generator's records (orders with nested
    lines) or flat order-line objects."""
    from recommender.order_history import order_lines_frame, read_jsonl

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(path)
    with path.open(encoding="utf-8") as fh:
        first = fh.readline()
    if '"type"' in first:
        return order_lines_frame(read_jsonl(path))
    return _canonical(pd.read_json(path, lines=True, dtype={"customer_id": str, "order_id": str, "sku": str}))


def _canonical(df: pd.DataFrame) -> pd.DataFrame:
    validate_order_lines(df)
    out = df[ORDER_LINE_COLUMNS].copy()
    for col in ("customer_id", "order_id", "sku"):
        out[col] = out[col].astype(str)
    out["quantity"] = out["quantity"].astype("int64")
    out["unit_price"] = out["unit_price"].astype(float)
    out["ordered_at"] = pd.to_datetime(out["ordered_at"], utc=True).dt.tz_localize(None)
    return out
