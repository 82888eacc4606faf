"""The upload size limit: ``MAX_CONTENT_LENGTH`` (config/default.toml, O2O_MAX_CONTENT_LENGTH).

Flask refuses a request body over the limit before a view reads it (Werkzeug raises
RequestEntityTooLarge when the form, files or data are first touched); without a limit a
50 MB upload took a worker to about 790 MB. The answer is 413 with a message saying the
limit: an API problem under /api/, a page elsewhere, in the user's language.
"""
from __future__ import annotations

from flask import current_app, render_template_string, request
from werkzeug.exceptions import RequestEntityTooLarge

from core.i18n import _

_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1><p id="too-large">{{ detail }}</p>
<p><a href="{{ back }}">{{ back_label }}</a></p></body></html>"""


def limit_text() -> str:
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return f"{limit / (1024 * 1024):.3g} MB" if limit >= 1024 * 1024 else f"{limit} bytes"


def too_large(exc: RequestEntityTooLarge):
    detail = _("The upload is larger than the %(limit)s this server accepts. Split the file, or ask the "
               "administrator to raise MAX_CONTENT_LENGTH.", limit=limit_text())
    if request.path.startswith("/api/"):
        from core.api import PROBLEM_TYPE_BASE, problem_response
        return problem_response(413, "Payload too large", detail, PROBLEM_TYPE_BASE + "payload-too-large",
                                max_content_length=current_app.config.get("MAX_CONTENT_LENGTH"))
    return render_template_string(_PAGE, title=_("The file is too large"), detail=detail, back="/admin/",
                                  back_label=_("Back")), 413


def init_uploads(app) -> None:
    app.register_error_handler(RequestEntityTooLarge, too_large)
