"""Till API (/api/v1/pos/...)."""
from core.api import ApiBlueprint

bp = ApiBlueprint("pos", __name__, url_prefix="/pos")
