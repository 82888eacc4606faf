"""The web till at /pos: a page and a plain-JS app (no build step) over the till API.

The page is same-origin with the API and uses the login cookie; every call that changes
something carries the page's CSRF token in ``X-CSRFToken`` (checked by ``pos.api.till_user``).
Sales are queued in localStorage with their idempotency key before they are sent, so a till
that loses the server keeps selling and sends each sale exactly once when it is back.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, jsonify, render_template
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from core.auth import require_permission
from core.db import db
from core.i18n import _l

from addons.pos import services
from addons.pos.models import PosRegister

bp = Blueprint("pos_web", __name__, url_prefix="/pos", template_folder="templates", static_folder="static",
               static_url_path="/static")


def _registers():
    stmt = sa.select(PosRegister).where(PosRegister.active.is_(True)).order_by(PosRegister.store_id,
                                                                              PosRegister.code)
    if not current_user.is_superuser and current_user.store_ids is not None:
        stmt = stmt.where(PosRegister.store_id.in_(current_user.store_ids or [-1]))
    return list(db.session.scalars(stmt))


# The till script's texts (marked here for the catalogue; the script has no catalogue of its
# own: it looks its English text up in the page's data-messages, placeholders ``%(name)s``
# filled in by it).
TILL_TEXTS = (
    _l("online"), _l("offline"), _l("remove"), _l("No open session"), _l("Session %(name)s"),
    _l("%(n)s sale(s) waiting to be sent"),
    _l("A queued sale of %(total)s was refused and needs attention: %(error)s"),
    _l("A weighed article: scan its label again."), _l("Change %(change)s"),
    _l("Enter what the customer pays (F8 cash, F9 card)."), _l("Not sold: %(detail)s"),
    _l("Offline and %(code)s is not in the till's catalogue."),
    _l("Receipt %(receipt)s · %(total)s · change %(change)s"),
    _l("Refused sales need attention: the store manager resolves them before the session can be closed."),
    _l("Sale of %(total)s queued"), _l("Sale of %(total)s taken at %(time)s: %(error)s"),
    _l("Sales are still waiting to be sent; close once they are."), _l("Scan something first."),
    _l("Session closed. Cash difference %(difference)s. Z report %(number)s."),
    _l("The payments (%(paid)s) do not cover the total (%(total)s)."),
    _l("The quantity must be more than zero."), _l("The receipt can be printed once the server is back."),
    _l("The server cannot be reached: a session can only be opened online."),
    _l("The server cannot be reached: close the session once it is back."),
    _l("Type the quantity, then F4."), _l("Unknown code %(code)s"), _l("kept on the server (#%(id)s)"),
    _l("not yet reported to the server"),
)


def till_messages() -> dict[str, str]:
    """English text -> the text in the page's language, for the till script."""
    return {text._args[0]: str(text) for text in TILL_TEXTS}


@bp.route("/")
@require_permission("pos.sell")
def index():
    registers = _registers()
    return render_template("pos/index.html", registers=registers)


@bp.route("/till/<int:register_id>")
@require_permission("pos.sell")
def till(register_id):
    register = db.session.get(PosRegister, register_id)
    if register is None or register not in _registers():
        abort(404)
    from addons.sales import services as sales
    methods = [{"code": m.code, "name": m.name, "is_cash": m.is_cash, "needs_reference": m.needs_reference}
               for m in sales.payment_methods()]
    open_session = services.open_session_of(register.id)
    return render_template("pos/till.html", register=register, methods=methods, messages=till_messages(),
                           session=services.session_summary(open_session) if open_session else None)


@bp.route("/csrf")
@require_permission("pos.sell")
def csrf():
    """A fresh CSRF token for a till page that stayed open longer than a token lives."""
    return jsonify({"csrf_token": generate_csrf()})
