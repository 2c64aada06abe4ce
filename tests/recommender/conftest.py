from __future__ import annotations

import pandas as pd
import pytest


def make_lines(rows: list[tuple]) -> pd.DataFrame:
    """rows: (customer_id, order_id, sku, quantity, unit_price, 'YYYY-MM-DD')."""
    df = pd.DataFrame(
        rows, columns=["customer_id", "order_id", "sku", "quantity", "unit_price", "ordered_at"]
    )
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    return df


@pytest.fixture
def toy_lines() -> pd.DataFrame:
    """Three customers; cpu+board are always bought together; u1 repeats 'paper'."""
    return make_lines(
        [
            ("u1", "o1", "cpu", 1, 200.0, "2011-01-05"),
            ("u1", "o1", "board", 1, 120.0, "2011-01-05"),
            ("u1", "o2", "paper", 2, 5.0, "2011-02-01"),
            ("u1", "o3", "paper", 1, 5.0, "2011-03-01"),
            ("u2", "o4", "cpu", 1, 210.0, "2011-02-10"),
            ("u2", "o4", "board", 1, 125.0, "2011-02-10"),
            ("u2", "o5", "ram", 2, 60.0, "2011-03-02"),
            ("u3", "o6", "cpu", 1, 200.0, "2011-03-03"),
            ("u3", "o7", "paper", 1, 5.0, "2011-04-02"),
            ("u1", "o8", "paper", 1, 5.0, "2011-04-10"),
            ("u1", "o8", "ram", 1, 60.0, "2011-04-10"),
            ("u3", "o9", "board", 1, 120.0, "2011-04-12"),
            ("u3", "o9", "ram", 1, 60.0, "2011-04-12"),
        ]
    )
