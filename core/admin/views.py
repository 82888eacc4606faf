"""Base admin views: every list, form, export and action checks a permission, and
store-scoped models show only the user's stores, in the query itself."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView as _BaseView, expose
from flask_admin.contrib import sqla
from flask_admin.form import SecureForm
from flask_login import current_user

from core.admin.converters import FilterConverter, ModelConverter
from core.auth import user_can
from core.i18n import _


class PermissionMixin:
    """``permission`` is a prefix: ``core.product`` checks ``core.product.read`` to see the
    view, ``.create``, ``.edit``, ``.delete``, ``.export`` and ``.<action>`` for the rest."""
    permission: str = ""

    def can(self, action: str) -> bool:
        return user_can(current_user, f"{self.permission}.{action}")

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and self.can("read")

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)


class BaseView(PermissionMixin, _BaseView):
    """A custom admin page (not a model list)."""


class ModelView(PermissionMixin, sqla.ModelView):
    """The one base for model lists and forms.

    Subclasses set ``permission`` and may set ``store_field`` (the column holding the store
    id, or a SQL expression callable) to limit users to their stores.
    """
    form_base_class = SecureForm
    filter_converter = FilterConverter()
    model_form_converter = ModelConverter
    page_size = 50
    can_set_page_size = True
    can_view_details = True
    export_types = ["csv"]
    export_max_rows = 100_000
    # Ledger-sized tables set this True: no COUNT(*) over millions of rows per page.
    simple_list_pager = False
    store_field: str | None = None
    allow_create = True
    allow_edit = True
    allow_delete = True
    allow_export = True

    # Flask-Admin reads these as attributes; as properties they follow the current user.
    can_create = property(lambda self: self.allow_create and self.can("create"),
                          lambda self, v: setattr(self, "allow_create", v))
    can_edit = property(lambda self: self.allow_edit and self.can("edit"),
                        lambda self, v: setattr(self, "allow_edit", v))
    can_delete = property(lambda self: self.allow_delete and self.can("delete"),
                          lambda self, v: setattr(self, "allow_delete", v))
    can_export = property(lambda self: self.allow_export and self.can("export"),
                          lambda self, v: setattr(self, "allow_export", v))

    def __init__(self, model, session=None, *args, **kwargs):
        from core.db import db
        super().__init__(model, session or db, *args, **kwargs)

    # --- store scoping -------------------------------------------------------------------
    def store_column(self):
        if self.store_field is None:
            return None
        return getattr(self.model, self.store_field)

    def scope(self, query):
        column = self.store_column()
        if column is None or not current_user.is_authenticated:
            return query
        store_ids = current_user.store_ids
        if store_ids is None:
            return query
        return query.filter(column.in_(store_ids or [-1]))

    def get_query(self):
        return self.scope(super().get_query())

    def get_count_query(self):
        return self.scope(super().get_count_query())

    def get_one(self, id):
        obj = super().get_one(id)
        if obj is None or self.store_column() is None:
            return obj
        store_ids = current_user.store_ids
        if store_ids is not None and getattr(obj, self.store_field) not in store_ids:
            return None
        return obj

    def on_model_change(self, form, model, is_created):
        if self.store_column() is not None:
            store_ids = current_user.store_ids
            if store_ids is not None and getattr(model, self.store_field) not in store_ids:
                raise ValueError(_("You can only record data for your own stores."))
        super().on_model_change(form, model, is_created)

    def is_action_allowed(self, name: str) -> bool:
        if name == "delete":
            return self.can_delete
        return self.can(name) and super().is_action_allowed(name)

    def handle_view_exception(self, exc):
        # Model validators raise ValueError with a message meant for the clerk.
        if isinstance(exc, (ValueError, sa.exc.IntegrityError)):
            from flask import flash
            flash(str(getattr(exc, "orig", exc)), "error")
            return True
        return super().handle_view_exception(exc)


class IndexView(AdminIndexView):
    """The admin home: needs a login, shows the enabled addons' sections."""

    def is_accessible(self):
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path))

    @expose("/")
    def index(self):
        from flask import current_app
        manager = current_app.extensions["o2o"]
        addons = [manager.addon(n) for n in manager.enabled]
        return self.render("admin/o2o_index.html", addons=addons)
