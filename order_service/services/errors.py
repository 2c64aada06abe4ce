"""Domain errors; `main` maps each to one HTTP status so handlers never build responses by hand."""

from __future__ import annotations


class ServiceError(Exception):
    status_code = 400

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class NotFound(ServiceError):
    status_code = 404


class Forbidden(ServiceError):
    status_code = 403


class Unauthorized(ServiceError):
    status_code = 401


class Conflict(ServiceError):
    """The request is valid but the current state refuses it (out of stock, wrong order status)."""

    status_code = 409


class Invalid(ServiceError):
    """Well-formed input that names things that do not fit together (unknown SKU, store without pick-up)."""

    status_code = 422


class OutOfStock(Conflict):
    def __init__(self, sku: str, location_id: int, requested: int, available: int):
        super().__init__(
            f"not enough stock of {sku} at location {location_id}: "
            f"requested {requested}, available {available}"
        )
        self.sku, self.location_id, self.requested, self.available = sku, location_id, requested, available
