from core.api import ApiBlueprint


def blueprint():
    return ApiBlueprint("purchasing_api", __name__, url_prefix="/purchasing")
