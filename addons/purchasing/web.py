from flask import Blueprint


def blueprint():
    return Blueprint("purchasing_web", __name__, url_prefix="/purchasing", template_folder="templates")
