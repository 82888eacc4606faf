"""One order model for every channel: orders, lines, payments, fulfilment, reservation."""
from core.plugins import hookimpl  # noqa: F401

MANIFEST = {
    "name": "sales",
    "title": "Sales",
    "version": "0.1.0",
    "summary": "One order model for every channel: orders, lines, payments, fulfilment, reservation.",
    "depends": ["warehouse"],
    "demo": True,
}
