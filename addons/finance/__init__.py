"""Double-entry books fed by every addon, bank statements, reconciliation, PDF reports."""
from core.plugins import hookimpl  # noqa: F401

MANIFEST = {
    "name": "finance",
    "title": "Finance",
    "version": "0.1.0",
    "summary": "Double-entry books fed by every addon, bank statements, reconciliation, PDF reports.",
    "depends": ["core"],
    "demo": True,
}
