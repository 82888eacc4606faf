"""Admin views: one ModelView per table; core.admin.views.ModelView checks the permission
``<permission>.read`` to see the view and ``.create/.edit/.delete/.export`` for the rest."""
from __future__ import annotations

from core.admin.views import ModelView
from core.i18n import _l
from o2o_giftwrap.models import GiftWrap, WrappedProduct


class GiftWrapView(ModelView):
    permission = "giftwrap.wrap"
    column_list = ["code", "name", "fee", "active"]
    column_searchable_list = ["code", "name"]
    column_filters = ["active"]
    column_labels = {"code": _l("Code"), "name": _l("Name"), "fee": _l("Fee"), "active": _l("Active")}
    form_columns = ["code", "name", "fee", "active"]
    column_default_sort = "code"


class WrappedProductView(ModelView):
    permission = "giftwrap.product"
    column_list = ["product", "wrap"]
    column_labels = {"product": _l("Product"), "wrap": _l("Gift wrap")}
    form_columns = ["product", "wrap"]
    # Never a dropdown of every product: an AJAX lookup by SKU, barcode or name.
    form_ajax_refs = {"product": {"fields": ["sku", "barcode", "name"], "page_size": 20}}


def admin_views():
    # No ``category``: core puts the views in the addon's menu section (MANIFEST title).
    # Endpoints are prefixed with the addon name so they never clash with another addon's.
    return [
        GiftWrapView(GiftWrap, name=_l("Gift wraps"), endpoint="giftwrap_wrap"),
        WrappedProductView(WrappedProduct, name=_l("Gift-wrapped products"), endpoint="giftwrap_product"),
    ]
