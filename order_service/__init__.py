"""Order and inventory service: locations, stock ledger, reservations, orders, customers, staff.

Importing the package itself is cheap (no SQLAlchemy): the action server only needs `client`.
"""
