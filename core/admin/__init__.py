"""The admin shell: built inside create_app(), one menu section per addon."""
from __future__ import annotations

from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from core.admin.views import IndexView
from core.i18n import _l, lazy_translate


def init_admin(app) -> Admin:
    manager = app.extensions["o2o"]
    admin = Admin(
        app, name="o2o", url="/admin",
        index_view=IndexView(name=_l("Home"), url="/admin", template="admin/o2o_index.html"),
        theme=Bootstrap4Theme(base_template="admin/o2o_master.html", swatch="default", fluid=True),
    )
    for addon_name, views in manager.call_in_order("o2o_admin_views", app=app):
        addon = manager.addon(addon_name)
        # The section is the addon's title, translated per request (the MANIFEST title is
        # a msgid: core.i18n_tools extracts every MANIFEST's title and summary).
        title = addon.manifest.get("category") or addon.title
        for view in views or ():
            if view.category is None:
                view.category = lazy_translate(title) if isinstance(title, str) else title
            admin.add_view(view)
    for _addon, links in manager.call_in_order("o2o_menu_links", app=app):
        for link in links or ():
            admin.add_link(link)
    app.extensions["o2o.admin"] = admin
    return admin
