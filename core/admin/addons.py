"""The admin "Addons" screen: what is installed, what is on, and buttons to turn addons on
and off (core.addons.read to see it, core.addons.manage to press the buttons).

Enabling or disabling moves the ``addons`` counter; every worker (core.wsgi.AppHolder)
notices within ADDONS_CHECK_INTERVAL and rebuilds its app, so menus and routes follow.
"""
from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_admin import expose

from core.addons import addon_rows, disable, enable
from core.admin.views import BaseView
from core.db import db
from core.i18n import _, _l, translate
from core.plugins import AddonError, DependantsEnabled

STATE_LABELS = {"enabled": _l("enabled"), "disabled": _l("disabled"), "not installed": _l("not installed")}


def addon_title(manager, name: str) -> str:
    return translate(manager.addon(name).title) if name in manager.installed else name


class AddonsView(BaseView):
    permission = "core.addons"

    @expose("/")
    def index(self):
        manager = current_app.extensions["o2o"]
        rows = addon_rows(current_app)
        for row in rows:
            row["title_text"] = translate(row["title"])
            row["summary_text"] = translate(row["summary"]) or ""
            row["state_text"] = str(STATE_LABELS.get(row["state"], row["state"]))
            row["depends_text"] = ", ".join(addon_title(manager, d) for d in row["depends"])
        return self.render("admin/o2o_addons.html", rows=rows, can_manage=self.can("manage"))

    @expose("/<addon>/<action>", methods=["POST"])
    def change(self, addon, action):
        name = addon
        if not self.can("manage"):
            return self.render("admin/o2o_addons.html", rows=[], can_manage=False), 403
        if action not in ("enable", "disable"):
            return redirect(url_for(".index"))
        manager = current_app.extensions["o2o"]
        try:
            if action == "enable":
                new = enable(current_app, [name])
                db.session.commit()
                flash(_("Enabled: %(names)s. The menus follow within a few seconds.",
                        names=", ".join(addon_title(manager, n) for n in new) or _("nothing new")), "success")
            else:
                disable(current_app, name)
                db.session.commit()
                flash(_("%(addon)s is disabled; its data is kept. The menus follow within a few seconds.",
                        addon=addon_title(manager, name)), "success")
        except DependantsEnabled as exc:
            db.session.rollback()
            flash(_("%(addon)s cannot be disabled while these enabled addons depend on it: %(dependants)s. "
                    "Disable them first.", addon=addon_title(manager, exc.addon),
                    dependants=", ".join(addon_title(manager, d) for d in exc.dependants)), "error")
        except AddonError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        return redirect(url_for(".index"))


def addons_view():
    return AddonsView(name=_l("Addons"), category=_l("Administration"), endpoint="addons", url="/admin/addons")
