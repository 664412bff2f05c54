"""Consentir: consent-based decision making for citizen collectives."""

__version__ = "0.1.0"
