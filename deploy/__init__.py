"""Deployment helpers: several Rasa and action servers behind nginx (docs/deployment.md)."""
