"""A toy inventory service with two storage backends behind one async client."""

from inventory.client import InventoryClient, OutOfStock, open_client

__all__ = ["InventoryClient", "OutOfStock", "open_client"]
