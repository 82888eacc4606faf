"""Admin screens for core's master data, users and addons."""
from __future__ import annotations

from flask_admin.model.form import InlineFormAdmin  # noqa: F401

from core.admin.views import ModelView
from core.i18n import _l
from core.models import AuditLog, Category, Partner, Product, Role, Sequence, Store, Tax, Unit, User


class StoreView(ModelView):
    permission = "core.store"
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


class ProductView(ModelView):
    permission = "core.product"
    column_list = ["sku", "barcode", "name", "category", "unit", "tax", "list_price", "cost", "active"]
    column_searchable_list = ["sku", "barcode", "name"]
    column_filters = ["active", "category.name", "list_price"]
    column_default_sort = "sku"
    form_excluded_columns = ["created_at", "updated_at", "image", "image_mimetype"]
    form_ajax_refs = {"category": {"fields": ["name"], "page_size": 20}}


class CategoryView(ModelView):
    permission = "core.category"
    column_list = ["name", "parent"]
    column_searchable_list = ["name"]
    form_excluded_columns = ["children"]


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


class UserView(ModelView):
    permission = "core.user"
    column_list = ["username", "display_name", "email", "active", "is_superuser", "all_stores", "roles", "locale"]
    column_searchable_list = ["username", "display_name", "email"]
    column_filters = ["active", "is_superuser"]
    form_excluded_columns = ["password_hash", "created_at", "updated_at"]


class RoleView(ModelView):
    permission = "core.role"
    column_searchable_list = ["code", "name"]


class AuditLogView(ModelView):
    permission = "core.audit"
    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True
    column_default_sort = ("id", True)
    column_list = ["at", "username", "action", "table_name", "row_id", "changes"]
    column_filters = ["action", "table_name", "username", "at"]
    column_searchable_list = ["table_name", "row_id", "username"]


def master_data_views():
    md = _l("Master data")
    admin = _l("Administration")
    return [
        ProductView(Product, name=_l("Products"), category=md, endpoint="product"),
        CategoryView(Category, name=_l("Categories"), category=md, endpoint="category"),
        StoreView(Store, name=_l("Stores"), category=md, endpoint="store"),
        PartnerView(Partner, name=_l("Partners"), category=md, endpoint="partner"),
        TaxView(Tax, name=_l("Taxes"), category=md, endpoint="tax"),
        UnitView(Unit, name=_l("Units"), category=md, endpoint="unit"),
        SequenceView(Sequence, name=_l("Sequences"), category=admin, endpoint="sequence"),
        UserView(User, name=_l("Users"), category=admin, endpoint="user"),
        RoleView(Role, name=_l("Roles"), category=admin, endpoint="role"),
        AuditLogView(AuditLog, name=_l("Audit log"), category=admin, endpoint="auditlog"),
    ]
