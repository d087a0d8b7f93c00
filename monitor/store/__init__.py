"""The SQLite store (the only SQL in Pledgewatch): see ``monitor.store.store``."""

from monitor.store.store import DeliveryRow, EntryRow, FeedRow, Store

__all__ = ["DeliveryRow", "EntryRow", "FeedRow", "Store"]
