"""The web till at /pos."""
from flask import Blueprint

bp = Blueprint("pos_web", __name__, url_prefix="/pos", template_folder="templates", static_folder="static",
               static_url_path="/static")
