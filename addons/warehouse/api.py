"""JSON API (filled in below)."""
from core.api import ApiBlueprint


def blueprint():
    return ApiBlueprint("warehouse_api", __name__, url_prefix="/stock")
