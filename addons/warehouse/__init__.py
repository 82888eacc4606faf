"""Warehouses, locations, stock ledger and quants, transfers, counts, reorder rules, valuation."""
from core.plugins import hookimpl  # noqa: F401

MANIFEST = {
    "name": "warehouse",
    "title": "Warehouse",
    "version": "0.1.0",
    "summary": "Warehouses, locations, stock ledger and quants, transfers, counts, reorder rules, valuation.",
    "depends": ["core"],
    "demo": True,
}
