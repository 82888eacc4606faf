"""Base admin views: every list, form, export and action checks a permission, and
store-scoped models show only the user's stores, in the query itself.

CSRF: Flask-WTF's ``CSRFProtect`` (core.auth) checks the token of EVERY POST in the app,
admin included, before any view runs. Admin forms therefore use Flask-Admin's plain
``BaseForm`` (no second, incompatible WTForms session token); Flask-Admin's templates put
``csrf_token()`` (Flask-WTF's) in create/edit forms, list delete buttons and action forms.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, make_response, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView as _BaseView, expose
from flask_admin.contrib import sqla
from flask_admin.form import BaseForm
from flask_admin.model import typefmt
from flask_babel import format_currency, format_date, format_decimal
from flask_login import current_user
from wtforms import fields as wtf_fields

from core.admin.converters import FilterConverter, ModelConverter
from core import csvio
from core.auth import user_can
from core.db import Money, Quantity, UnitPrice, db, has_nul
from core.errors import O2OError
from core.i18n import _, format_timestamp, lazy_translate


_INTEGER_RANGE = ((sa.SmallInteger, 2**15 - 1), (sa.BigInteger, 2**63 - 1), (sa.Integer, 2**31 - 1))


def _all_fields(form, model=None):
    """Every leaf field of a form with the model whose column it fills (None when not
    known): inline model lists (their rows are the inline model's) and subforms included."""
    for field in form:
        if isinstance(field, wtf_fields.FormField):
            yield from _all_fields(field.form)
        elif isinstance(field, wtf_fields.FieldList):
            row_model = getattr(field, "model", None)  # Flask-Admin's InlineModelFormList
            for entry in field.entries:
                if isinstance(entry, wtf_fields.FormField):
                    yield from _all_fields(entry.form, row_model)
                else:
                    yield entry, None
        else:
            yield field, model


def _columns(model) -> dict:
    return {prop.key: prop.columns[0] for prop in sa.inspect(model).column_attrs if len(prop.columns) == 1}


def _numeric_problem(column_type, value):
    """Why ``value`` does not fit the column (Numeric precision/scale, integer range), or
    None. PostgreSQL refuses such a value with 'numeric field overflow' / 'integer out of
    range' mid-transaction; SQLite stores it and a later read or report goes wrong."""
    column_type = getattr(column_type, "impl_instance", column_type)  # Money & co. are TypeDecorators
    if isinstance(value, Decimal) and isinstance(column_type, sa.Numeric) and column_type.precision:
        if not value.is_finite():
            return _("Enter a number.")
        scale = column_type.scale or 0
        whole = column_type.precision - scale
        if abs(value) >= Decimal(10) ** whole:
            return _("At most %(n)s digits before the decimal point.", n=whole)
        if value.as_tuple().exponent < -scale:
            return _("At most %(n)s decimal places.", n=scale)
    if isinstance(value, int) and not isinstance(value, bool):
        for int_type, limit in _INTEGER_RANGE:
            if isinstance(column_type, int_type):
                if not -limit - 1 <= value <= limit:
                    return _("The number must be between %(low)s and %(high)s.", low=-limit - 1, high=limit)
                break
    return None


class AdminForm(BaseForm):
    """Form base of every admin form; CSRF is enforced by CSRFProtect (see module doc).

    On top of each field's own validators, ``validate`` refuses what the database cannot
    store, once for every form: a NUL character in any text (PostgreSQL refuses it and the
    save failed with a raw driver error) and, on the forms ModelView builds (which set
    ``storable_model``), numbers beyond their column's precision, scale or integer range."""
    storable_model = None

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        columns_of: dict = {}
        for field, model in _all_fields(self, self.storable_model):
            if has_nul(field.data) or has_nul(getattr(field, "raw_data", None)):
                message = _("Remove the NUL character (a zero byte): it cannot be stored.")
                if message not in field.errors:  # an inline row's own form said it already
                    field.errors = [*field.errors, message]
                valid = False
                continue
            if model is None:
                continue
            if model not in columns_of:
                columns_of[model] = _columns(model)
            column = columns_of[model].get(field.short_name)
            problem = _numeric_problem(column.type, field.data) if column is not None else None
            if problem and problem not in field.errors:
                field.errors = [*field.errors, problem]
                valid = False
            elif problem:
                valid = False
        return valid


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
        self.refuse()

    def refuse(self, message=None, status: int = 403):
        """Stop the request with ``status`` and a page saying why, in the user's language
        (a refusal used to be a flash and a redirect: 200 to a client or a script)."""
        message = message or _("You are not allowed to do that.")
        title = {403: _("Not allowed"), 404: _("Not found")}.get(status) or _("Refused")
        try:
            back = self.get_url(".index_view") if hasattr(self, "index_view") else url_for("admin.index")
            html = self.render("admin/o2o_refused.html", title=title, message=message, back=back)
        except Exception:  # noqa: BLE001 - a view without the admin's template context
            html = f"<h1>{title}</h1><p>{message}</p>"
        abort(make_response(html, status))


class BaseView(PermissionMixin, _BaseView):
    """A custom admin page (not a model list)."""


# --- locale-aware list formatting ----------------------------------------------------------

def _fmt_datetime(view, value, name=None):
    return format_timestamp(value)  # the company's clock; rows of a store: ModelView._get_list_value


def _fmt_date(view, value, name=None):
    return format_date(value, "medium")


def format_money(value) -> str:
    return format_currency(value, current_app.config.get("CURRENCY", "CNY"))


def format_unit_price(value) -> str:
    return format_currency(value, current_app.config.get("CURRENCY", "CNY"),
                           format="¤#,##0.00##", currency_digits=False)


def format_quantity(value) -> str:
    return format_decimal(value, format="#,##0.###")


LIST_TYPE_FORMATTERS = dict(typefmt.BASE_FORMATTERS)
LIST_TYPE_FORMATTERS.update({dt.datetime: _fmt_datetime, dt.date: _fmt_date})
_BY_COLUMN_TYPE = ((Money, format_money), (UnitPrice, format_unit_price), (Quantity, format_quantity))


def _indexed_columns(model) -> set[str]:
    """Attribute names of columns that lead an index (PK, unique, index=True, Index(...))."""
    table = sa.inspect(model).local_table
    leading = {c.name for c in table.primary_key.columns}
    for index in table.indexes:
        cols = list(index.columns)
        if cols:
            leading.add(cols[0].name)
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint) and list(constraint.columns):
            leading.add(list(constraint.columns)[0].name)
    mapper = sa.inspect(model)
    return {prop.key for prop in mapper.column_attrs
            if len(prop.columns) == 1 and getattr(prop.columns[0], "name", None) in leading}


class ModelView(PermissionMixin, sqla.ModelView):
    """The one base for model lists and forms.

    Subclasses set ``permission`` and may set ``store_field`` (the attribute holding the
    store id) to limit users to their stores: lists, exports, forms (the store choices)
    and opening a row by id all follow the user's stores.
    Ledger-sized tables set ``simple_list_pager = True``: no COUNT(*), newest first by the
    primary key, and only indexed columns sortable (unless the view says otherwise).
    """
    form_base_class = AdminForm
    filter_converter = FilterConverter()
    model_form_converter = ModelConverter
    page_size = 50
    can_set_page_size = True
    can_view_details = True
    export_types = ["csv"]
    export_max_rows = 100_000
    simple_list_pager = False
    store_field: str | None = None
    allow_create = True
    allow_edit = True
    allow_delete = True
    allow_export = True
    column_type_formatters = LIST_TYPE_FORMATTERS
    column_type_formatters_detail = LIST_TYPE_FORMATTERS

    # Flask-Admin reads these as attributes; as properties they follow the current user.
    can_create = property(lambda self: self.allow_create and self.can("create"),
                          lambda self, v: setattr(self, "allow_create", v))
    can_edit = property(lambda self: self.allow_edit and self.can("edit"),
                        lambda self, v: setattr(self, "allow_edit", v))
    can_delete = property(lambda self: self.allow_delete and self.can("delete"),
                          lambda self, v: setattr(self, "allow_delete", v))
    can_export = property(lambda self: self.allow_export and self.can("export"),
                          lambda self, v: setattr(self, "allow_export", v))

    # view method -> the action it performs
    # (Flask-Admin's inline list edit, ajax_update, checks nothing itself.)
    _GUARDED = {"create_view": "create", "edit_view": "edit", "delete_view": "delete", "export": "export",
                "ajax_update": "edit"}

    def __init__(self, model, session=None, *args, **kwargs):
        mapper = sa.inspect(model)
        pk = [c.key for c in mapper.primary_key] if len(mapper.primary_key) == 1 else []
        if pk:
            pk_attr = mapper.get_property_by_column(mapper.primary_key[0]).key
            if self.column_default_sort is None:
                # A deterministic order on an indexed column; ledgers newest first.
                self.column_default_sort = (pk_attr, True) if self.simple_list_pager else pk_attr
        if self.simple_list_pager and self.column_sortable_list is None:
            indexed = _indexed_columns(model)
            self.column_sortable_list = sorted(indexed)
        super().__init__(model, session or db, *args, **kwargs)
        self._locale_formatters = {}
        for prop in mapper.column_attrs:
            if len(prop.columns) != 1:
                continue
            for column_type, fmt in _BY_COLUMN_TYPE:
                if isinstance(prop.columns[0].type, column_type):
                    self._locale_formatters[prop.key] = fmt
                    break

    # --- forms refuse what the database cannot store (AdminForm.validate) ---------------
    def scaffold_form(self):
        form_class = super().scaffold_form()
        form_class.storable_model = self.model
        return form_class

    def scaffold_list_form(self, widget=None, validators=None):
        form_class = super().scaffold_list_form(widget, validators)
        form_class.storable_model = self.model
        return form_class

    # --- column names in the user's language ----------------------------------------------
    def _prettify_name(self, name):
        """Columns without an explicit label: 'list_price' -> 'List price', translated per
        request when any catalogue knows that text (core and addons share one domain)."""
        from flask_admin.model.helpers import prettify_name
        text = prettify_name(name)
        text = text[:1] + text[1:].lower() if text else text
        return lazy_translate(text)

    prettify_name = _prettify_name  # used by the form converter for field labels

    # --- permissions on every endpoint ---------------------------------------------------
    def _handle_view(self, name, **kwargs):
        response = super()._handle_view(name, **kwargs)
        if response is not None:
            return response
        action = self._GUARDED.get(name)
        if action is not None and not getattr(self, f"can_{action}"):
            self.refuse()
        return None

    def coerce_ids(self, ids):
        """Row ids from a form are strings; PostgreSQL will not compare them with an integer
        key, so actions receive them as the primary key's Python type (junk is dropped)."""
        mapper = sa.inspect(self.model)
        if len(mapper.primary_key) != 1:
            return ids
        try:
            python_type = mapper.primary_key[0].type.python_type
        except NotImplementedError:
            return ids
        coerced = []
        for value in ids:
            try:
                coerced.append(python_type(value))
            except (TypeError, ValueError):
                continue
        return coerced

    def handle_action(self, return_view=None):
        """Flask-Admin's, with typed ids and the per-action permission check."""
        from flask_admin.helpers import flash_errors, get_redirect_target
        form = self.action_form()
        if self.validate_form(form):
            ids = self.coerce_ids(request.form.getlist("rowid"))
            name = form.action.data
            handler = self._actions_data.get(name)
            if handler and self.is_action_allowed(name):
                response = handler[0](ids)
                if response is not None:
                    return response
            elif handler:
                self.refuse()
        else:
            flash_errors(form, message="Failed to perform action. %(error)s")
        url = self.get_url("." + return_view) if return_view else (
            get_redirect_target() or self.get_url(".index_view"))
        return redirect(url)

    def is_action_allowed(self, name: str) -> bool:
        if name == "delete":
            return self.can_delete
        return self.can(name) and super().is_action_allowed(name)

    # --- CSV export ----------------------------------------------------------------------
    def _export_csv(self, return_url):
        """Flask-Admin's export streamed the rows after the view had returned, when the
        request's session was already closed: the first lazy load (a product's category
        path, a journal entry's reversal) raised DetachedInstanceError and the download
        stopped after the header, with 200. Here every line is written while the session
        is open, each cell through core.csvio.safe_cell (inert in a spreadsheet), and the
        finished lines are sent."""
        from werkzeug.utils import secure_filename
        _count, data = self._export_data()
        out = csvio.line_writer()
        columns = self._export_columns
        lines = [out.writerow([str(label) for _name, label in columns])]
        lines.extend(out.writerow([self.get_export_value(row, name) for name, _label in columns]) for row in data)
        filename = secure_filename(self.get_export_name(export_type="csv"))
        return Response(lines, headers={"Content-Disposition": f"attachment;filename={filename}"},
                        mimetype="text/csv")

    # --- locale formatting of Money / UnitPrice / Quantity --------------------------------
    def _get_list_value(self, context, model, name, column_formatters, column_type_formatters):
        fmt = self._locale_formatters.get(name)
        if fmt is not None and name not in column_formatters and \
                column_type_formatters is not self.column_type_formatters_export:
            value = self._get_field_value(model, name)
            if isinstance(value, Decimal):
                return fmt(value)
        if name not in column_formatters:
            value = self._get_field_value(model, name)
            if isinstance(value, dt.datetime):  # on the clock of the row's store
                return format_timestamp(value, self.row_store(model))
        return super()._get_list_value(context, model, name, column_formatters, column_type_formatters)

    def row_store(self, model):
        """The store whose clock a row's timestamps are shown on: the row itself for a store,
        else its ``store_field`` (or ``store_id``); None (the company's clock) without one."""
        from core.models import Store
        if isinstance(model, Store):
            return model
        return getattr(model, self.store_field or "store_id", None)

    # --- store scoping -------------------------------------------------------------------
    def store_column(self):
        if self.store_field is None:
            return None
        return getattr(self.model, self.store_field)

    @staticmethod
    def user_store_ids():
        """The current user's stores, or None for every store."""
        if not current_user.is_authenticated:
            return set()
        return current_user.store_ids

    def scope(self, query):
        column = self.store_column()
        if column is None:
            return query
        store_ids = self.user_store_ids()
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
        store_ids = self.user_store_ids()
        if store_ids is not None and getattr(obj, self.store_field) not in store_ids:
            abort(404)  # another store's row: as if it did not exist
        return obj

    def _limit_store_choices(self, form):
        """Relation fields pointing at stores offer only the user's stores."""
        store_ids = self.user_store_ids()
        if store_ids is None:
            return form
        from core.models import Store
        for rel in sa.inspect(self.model).relationships:
            if rel.mapper.class_ is Store and rel.key in form:
                field = form[rel.key]
                scoped = db.session.query(Store).filter(Store.id.in_(store_ids or [-1])).order_by(Store.code)
                if hasattr(field, "query_factory"):
                    field.query = scoped
                    field.query_factory = lambda q=scoped: q
                    field._object_list = None  # choices and validation use the scoped list
                    # Resolve the submitted ids now: Flask-Admin's multiple-select checks its
                    # "invalid ids" flag before resolving them, so another store's id would
                    # otherwise be dropped silently instead of refused.
                    field.data  # noqa: B018
        return form

    def create_form(self, obj=None):
        return self._limit_store_choices(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._limit_store_choices(super().edit_form(obj))

    def on_model_change(self, form, model, is_created):
        if self.store_column() is not None:
            store_ids = self.user_store_ids()
            if store_ids is not None:
                value = getattr(model, self.store_field)
                if value is None and self.store_field.endswith("_id"):
                    related = getattr(model, self.store_field[:-3], None)
                    value = getattr(related, "id", None)
                if value not in store_ids:
                    raise ValueError(_("You can only record data for your own stores."))
        super().on_model_change(form, model, is_created)

    def handle_view_exception(self, exc):
        # Services refuse with O2OError, model validators with ValueError: both carry a
        # message meant for the clerk.
        if isinstance(exc, O2OError):
            flash(exc.message, "error")
            return True
        if isinstance(exc, (ValueError, sa.exc.IntegrityError)):
            flash(str(getattr(exc, "orig", exc)), "error")
            return True
        return super().handle_view_exception(exc)

    def run_service(self, ids, fn, done_message):
        """Run a service (``fn(id)``) for each selected row the user may see, in one
        transaction: all or nothing, the outcome flashed (list actions: ship, approve...)."""
        try:
            for obj_id in ids:
                if self.get_one(str(obj_id)) is None:
                    raise O2OError(_("Not found or not yours: #%(id)s", id=obj_id))
                fn(int(obj_id))
            db.session.commit()
            flash(done_message, "success")
        except O2OError as exc:
            db.session.rollback()
            flash(exc.message, "error")


class IndexView(AdminIndexView):
    """The admin home: needs a login, shows the enabled addons' sections."""

    def is_accessible(self):
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path))

    @expose("/")
    def index(self):
        manager = current_app.extensions["o2o"]
        addons = [manager.addon(n) for n in manager.enabled]
        return self.render("admin/o2o_index.html", addons=addons)
