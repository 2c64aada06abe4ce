"""The demo shop's data, generated and seeded so that every machine gets the same shop: locations,
products and stock (shop.py), a year of completed orders (history.py generates it, orders.py loads it
into the order service's tables) and four weeks of assistant events (events.py), with their commands
(cli.py).

Demo data sits above the capabilities: it writes through the order service's models and the
recommender's record types, and nothing but the operator CLI, tests and benchmarks import it.
"""
