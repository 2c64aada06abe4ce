"""The actions' `shop` fixture (a real order service app and product graph), for recording tests."""

from tests.actions.conftest import shop  # noqa: F401
