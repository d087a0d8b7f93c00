"""Pledgewatch: find companies whose reported emissions rise, with the evidence and context."""

__version__ = "0.1.0"
