"""Suppliers' terms, purchase orders with approval, receipts, vendor bills, replenishment."""
from core.plugins import hookimpl  # noqa: F401

MANIFEST = {
    "name": "purchasing",
    "title": "Purchasing",
    "version": "0.1.0",
    "summary": "Suppliers' terms, purchase orders with approval, receipts, vendor bills, replenishment.",
    "depends": ["warehouse"],
    "demo": True,
}
