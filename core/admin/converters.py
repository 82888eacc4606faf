"""Flask-Admin knows Money/UnitPrice/Quantity as Decimals: forms use DecimalField and list
filters compare Decimals (Flask-Admin's own numeric filters convert to float). Timestamp
filters read the typed time on the company's clock."""
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


class _LocalDateTime:
    """A time typed in a list filter is on the company's clock (as the list shows it); the
    column holds UTC."""

    def clean(self, value):
        from core import timeutil
        tz = timeutil.zone(timeutil.company_timezone())

        def utc(ts):
            return timeutil.as_utc(ts.replace(tzinfo=tz) if ts.tzinfo is None else ts)
        cleaned = super().clean(value)
        return [utc(ts) for ts in cleaned] if isinstance(cleaned, list) else utc(cleaned)


def _local_filter(base):
    return type(f"Local{base.__name__}", (_LocalDateTime, base), {})


class FilterConverter(sqla_filters.FilterConverter):
    decimal_filters = (DecimalEqualFilter, DecimalNotEqualFilter, DecimalGreaterFilter,
                       DecimalSmallerFilter, sqla_filters.FilterEmpty)
    datetime_filters = tuple(_local_filter(f) for f in sqla_filters.FilterConverter.datetime_filters
                             if f is not sqla_filters.FilterEmpty) + (sqla_filters.FilterEmpty,)

    @base_filters.convert("money", "unitprice", "quantity", "numeric", "decimal")
    def conv_decimal(self, column, name, **kwargs):
        return [f(column, name, **kwargs) for f in self.decimal_filters]


class ModelConverter(AdminModelConverter):
    @converts("Money", "UnitPrice", "Quantity")
    def conv_scaled_decimal(self, column, field_args, **extra):
        field_args.setdefault("places", column.type.scale)
        return fields.DecimalField(**field_args)
