"""Rasa custom actions: thin async adapters from the dialogue to the capabilities (one module per domain).

The action server imports this package once at start; loading the capabilities here means the first
shopper does not wait for the product graph or the FAQ index."""

from actions import services

services.warm_up()
