"""Recommenders, offline evaluation and customer analytics.

Everything here works on one plain table of order lines (customer_id, order_id, sku, quantity,
unit_price, ordered_at), so the same code runs on the UCI Online Retail benchmark and on the demo
shop's order history.
"""
