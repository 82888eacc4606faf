"""Flask-Admin knows Money/UnitPrice/Quantity as Decimals: forms use DecimalField and list
filters compare Decimals (Flask-Admin's own numeric filters convert to float)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.model import filters as base_filters
from flask_admin.model.form import converts
from wtforms import fields


class BaseDecimalFilter(base_filters.BaseFilter):
    def clean(self, value: str) -> Decimal:
        try:
            return Decimal(value.strip().replace(",", ""))
        except (InvalidOperation, AttributeError):
            raise ValueError(f"{value!r} is not a number") from None


class DecimalEqualFilter(sqla_filters.FilterEqual, BaseDecimalFilter):
    pass


class DecimalNotEqualFilter(sqla_filters.FilterNotEqual, BaseDecimalFilter):
    pass


class DecimalGreaterFilter(sqla_filters.FilterGreater, BaseDecimalFilter):
    pass


class DecimalSmallerFilter(sqla_filters.FilterSmaller, BaseDecimalFilter):
    pass


class FilterConverter(sqla_filters.FilterConverter):
    decimal_filters = (DecimalEqualFilter, DecimalNotEqualFilter, DecimalGreaterFilter,
                       DecimalSmallerFilter, sqla_filters.FilterEmpty)

    @base_filters.convert("money", "unitprice", "quantity", "numeric", "decimal")
    def conv_decimal(self, column, name, **kwargs):
        return [f(column, name, **kwargs) for f in self.decimal_filters]


class ModelConverter(AdminModelConverter):
    @converts("Money", "UnitPrice", "Quantity")
    def conv_scaled_decimal(self, column, field_args, **extra):
        field_args.setdefault("places", column.type.scale)
        return fields.DecimalField(**field_args)
