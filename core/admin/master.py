"""Admin screens for core's master data (users and roles are in core.admin.auth) and the
product CSV import."""
from __future__ import annotations

import os
import re
import secrets

from flask import abort, current_app, flash, make_response, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from markupsafe import Markup
from wtforms import FileField

from core.admin.views import BaseView, ModelView
from core.db import db
from core.i18n import _, _l
from core.models import AuditLog, Category, Partner, Product, Sequence, Store, Tax, Unit


class StoreView(ModelView):
    permission = "core.store"
    store_field = "id"  # a user limited to some stores sees (and edits) only those
    column_list = ["code", "name", "kind", "city", "timezone", "active"]
    column_searchable_list = ["code", "name", "city"]
    column_filters = ["kind", "city", "active"]
    form_excluded_columns = ["created_at", "updated_at"]


class PartnerView(ModelView):
    permission = "core.partner"
    column_list = ["ref", "name", "is_customer", "is_supplier", "email", "phone", "city", "active"]
    column_searchable_list = ["ref", "name", "email", "phone"]
    column_filters = ["is_customer", "is_supplier", "city", "active"]
    form_excluded_columns = ["created_at", "updated_at"]
    form_args = {"ref": {"description": _l("Left empty: the next partner number.")}}

    def on_model_change(self, form, model, is_created):
        if not (model.is_customer or model.is_supplier):
            raise ValueError(_("Say whether %(name)s is a customer, a supplier or both.", name=model.name))
        from core.errors import Conflict
        from core.services.master import _check_partner_unique
        try:
            with db.session.no_autoflush:
                _check_partner_unique(db.session, model)
        except Conflict as exc:
            raise ValueError(exc.message) from None
        if not model.ref:
            from core.services.sequences import next_number
            model.ref = next_number("core.partner")
        super().on_model_change(form, model, is_created)


class ProductView(ModelView):
    permission = "core.product"
    column_list = ["sku", "barcode", "name", "category", "unit", "tax", "list_price", "cost", "active"]
    column_searchable_list = ["sku", "barcode", "name"]
    column_filters = ["active", "category.name", "list_price"]
    column_default_sort = "sku"
    form_excluded_columns = ["created_at", "updated_at", "image", "image_mimetype"]
    form_ajax_refs = {"category": {"fields": ["name"], "page_size": 20}}
    form_extra_fields = {"image_upload": FileField(_l("Image (PNG, JPEG or WebP, at most 2 MB)"))}
    column_details_list = ["sku", "barcode", "name", "description", "category", "unit", "tax", "list_price",
                           "cost", "active", "image_mimetype", "created_at", "updated_at"]
    column_formatters_detail = {"image_mimetype": lambda v, c, m, n: Markup(
        f'<img src="{url_for(".image", id=m.id)}" style="max-width:240px" alt="">') if m.image_mimetype else ""}

    def on_model_change(self, form, model, is_created):
        upload = getattr(form, "image_upload", None)
        data = upload.data if upload is not None else None
        if data is not None and getattr(data, "filename", ""):
            content = data.read(IMAGE_MAX_BYTES + 1)
            kind = image_kind(content)
            if kind is None:
                raise ValueError(_("The image must be a PNG, JPEG or WebP picture."))
            if len(content) > IMAGE_MAX_BYTES:
                raise ValueError(_("The image is larger than 2 MB; make it smaller."))
            model.image, model.image_mimetype = content, kind
        from core.errors import Conflict
        from core.services.master import _check_product_unique
        try:
            with db.session.no_autoflush:
                _check_product_unique(db.session, model)
        except Conflict as exc:  # a clear sentence instead of the database's constraint name
            raise ValueError(exc.message) from None
        super().on_model_change(form, model, is_created)

    @expose("/image/<int:id>")
    def image(self, id):
        product = db.session.get(Product, id)
        if product is None or not product.image_mimetype:
            abort(404)
        response = make_response(product.image)
        response.mimetype = product.image_mimetype
        response.headers["Cache-Control"] = "private, max-age=300"
        return response


IMAGE_MAX_BYTES = 2 * 1024 * 1024


def image_kind(content: bytes) -> str | None:
    """The MIME type of a PNG, JPEG or WebP picture, from its first bytes; None otherwise."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


class CategoryView(ModelView):
    permission = "core.category"
    column_list = ["name", "parent"]
    column_searchable_list = ["name"]
    form_excluded_columns = ["children"]

    def on_model_change(self, form, model, is_created):
        # the API's check: a clear message rather than the database's unique-constraint error
        from core.services.master import _check_category_unique
        with db.session.no_autoflush:
            _check_category_unique(db.session, model)
        super().on_model_change(form, model, is_created)


class TaxView(ModelView):
    permission = "core.tax"
    column_searchable_list = ["code", "name"]


class UnitView(ModelView):
    permission = "core.unit"
    column_searchable_list = ["code", "name"]


class SequenceView(ModelView):
    permission = "core.sequence"
    column_searchable_list = ["code", "name"]
    allow_delete = False


class AuditLogView(ModelView):
    permission = "core.audit"
    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True
    column_default_sort = ("id", True)
    column_list = ["at", "username", "action", "table_name", "row_id", "changes"]
    column_filters = ["action", "table_name", "username", "at"]
    column_searchable_list = ["table_name", "row_id", "username"]


class ProductImportView(BaseView):
    """Upload a product CSV, see every bad line, then import the checked file in one go."""
    permission = "core.product"

    def is_accessible(self):
        return current_user.is_authenticated and self.can("import")

    def _folder(self) -> str:
        folder = os.path.join(current_app.instance_path, "imports")
        os.makedirs(folder, exist_ok=True)
        return folder

    def _path(self, token: str) -> str | None:
        if not re.fullmatch(r"[0-9a-f]{32}", token or ""):
            return None
        return os.path.join(self._folder(), f"products-{current_user.id}-{token}.csv")

    def _render(self, **kwargs):
        from core.services.products import COLUMNS, REQUIRED_COLUMNS
        return self.render("admin/o2o_product_import.html", columns=COLUMNS, required=REQUIRED_COLUMNS, **kwargs)

    @expose("/", methods=["GET"])
    def index(self):
        return self._render(result=None)

    @expose("/check", methods=["POST"])
    def check(self):
        from core.services.products import import_products
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("Choose a CSV file to upload."), "error")
            return self._render(result=None), 400
        # Kept on disk under a token for the import step, and checked from there line by
        # line: the upload is never read into memory whole.
        token = secrets.token_hex(16)
        path = self._path(token)
        upload.save(path)
        try:
            with open(path, "rb") as fh:
                result = import_products(fh, dry_run=True)
        except Exception:
            os.remove(path)
            raise
        finally:
            db.session.rollback()
        if not result.ok:
            os.remove(path)
            token = None
        return self._render(result=result, token=token, filename=upload.filename), (200 if result.ok else 422)

    @expose("/import", methods=["POST"])
    def run(self):
        from core.services.products import import_products
        path = self._path(request.form.get("token", ""))
        if path is None or not os.path.exists(path):
            flash(_("The checked file is no longer available; upload it again."), "error")
            return redirect(url_for(".index"))
        try:
            with open(path, "rb") as fh:
                result = import_products(fh)
            if result.ok:
                db.session.commit()
            else:
                db.session.rollback()
        except Exception:
            db.session.rollback()
            raise
        if not result.ok:  # the products changed since the check
            return self._render(result=result, token=None, filename=request.form.get("filename")), 422
        os.remove(path)
        flash(result.summary(), "success")
        return redirect(url_for("product.index_view"))


def master_data_views():
    md = _l("Master data")
    admin = _l("Administration")
    return [
        ProductView(Product, name=_l("Products"), category=md, endpoint="product"),
        ProductImportView(name=_l("Import products"), category=md, endpoint="product_import",
                          url="/admin/product-import"),
        CategoryView(Category, name=_l("Categories"), category=md, endpoint="category"),
        StoreView(Store, name=_l("Stores"), category=md, endpoint="store"),
        PartnerView(Partner, name=_l("Partners"), category=md, endpoint="partner"),
        TaxView(Tax, name=_l("Taxes"), category=md, endpoint="tax"),
        UnitView(Unit, name=_l("Units"), category=md, endpoint="unit"),
        SequenceView(Sequence, name=_l("Sequences"), category=admin, endpoint="sequence"),
        AuditLogView(AuditLog, name=_l("Audit log"), category=admin, endpoint="auditlog"),
    ]
