"""The admin shell: built inside create_app(), one menu section per addon."""
from __future__ import annotations

from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from core.admin.views import IndexView


def init_admin(app) -> Admin:
    manager = app.extensions["o2o"]
    admin = Admin(
        app, name="o2o", url="/admin",
        index_view=IndexView(url="/admin", template="admin/o2o_index.html"),
        theme=Bootstrap4Theme(base_template="admin/o2o_master.html", swatch="default", fluid=True),
    )
    for addon_name, views in manager.call_in_order("o2o_admin_views", app=app):
        title = manager.addon(addon_name).manifest.get("category") or manager.addon(addon_name).title
        for view in views or ():
            if view.category is None:
                view.category = title
            admin.add_view(view)
    for _addon, links in manager.call_in_order("o2o_menu_links", app=app):
        for link in links or ():
            admin.add_link(link)
    app.extensions["o2o.admin"] = admin
    return admin
