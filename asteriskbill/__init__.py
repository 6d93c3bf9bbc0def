"""asteriskbill: a prepaid billing engine for Asterisk."""

__version__ = "0.1.0"
