"""Registers, cashier sessions, the till, receipts and Z-reports."""
from core.plugins import hookimpl  # noqa: F401

MANIFEST = {
    "name": "pos",
    "title": "Point of sale",
    "version": "0.1.0",
    "summary": "Registers, cashier sessions, the till, receipts and Z-reports.",
    "depends": ["sales"],
    "demo": True,
}
