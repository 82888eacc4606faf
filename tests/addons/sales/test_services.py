"""sales.services: pricing, totals, payments, stock and the order life cycle."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core import timeutil
from core.db import db
from core.errors import Conflict, InsufficientStock, ValidationError
from core.plugins import hookimpl

from addons.sales import services as sales
from addons.sales.models import Order, OrderLine, Payment
from tests.addons.sales.conftest import count

D = Decimal


def line(product, qty, **kw):
    return {"product_id": product.id, "quantity": D(str(qty)), **kw}


def test_order_priced_from_list_price_with_tax_per_line(world):
    order = sales.create_order(channel="pos", store_id=world.a.id,
                               lines=[line(world.tea, 3), line(world.rice, "1.5")])
    assert order.state == "draft" and order.id
    tea, rice = order.lines
    assert tea.unit_price == D("12.90") and tea.total == D("38.70")
    assert tea.tax_rate == D("13") and tea.tax_amount == D("4.45") and tea.net_amount == D("34.25")
    # 1.5 kg x 8.99 = 13.485 -> 13.49 (half up at the line total)
    assert rice.total == D("13.49") and rice.tax_amount == D("0.76") and rice.net_amount == D("12.73")
    assert order.total == D("52.19") and order.tax_total == D("5.21") and order.net_total == D("46.98")
    # read back from the database: same Decimals
    db.session.expire_all()
    again = db.session.get(Order, order.id)
    assert (again.total, again.tax_total, again.net_total) == (D("52.19"), D("5.21"), D("46.98"))
    assert str(again.total) == "52.19"


def test_tax_rounding_per_line_or_per_document(make_app, world):
    lines = [line(world.tea, 1), line(world.tea, 1), line(world.tea, 1)]
    per_line = sales.create_order(channel="pos", store_id=world.a.id, lines=lines)
    # each line: 12.90 x 13/113 = 1.484 -> 1.48; three lines 4.44
    assert [l.tax_amount for l in per_line.lines] == [D("1.48")] * 3
    assert per_line.tax_total == D("4.44")
    from flask import current_app
    current_app.config["SALES_TAX_ROUNDING"] = "document"
    try:
        per_doc = sales.create_order(channel="pos", store_id=world.a.id, lines=lines)
    finally:
        current_app.config["SALES_TAX_ROUNDING"] = "line"
    # once over the document: 38.70 x 13/113 = 4.452 -> 4.45; the lines still add up
    assert per_doc.tax_total == D("4.45")
    assert sum(l.tax_amount for l in per_doc.lines) == D("4.45")
    assert per_doc.total == per_line.total == D("38.70")
    assert per_doc.net_total == D("34.25")


def test_discount_is_a_percentage_rounded_at_the_line_total(world):
    order = sales.create_order(channel="pos", store_id=world.a.id,
                               lines=[line(world.mug, 2, discount=D("10")), line(world.tea, 1, discount=D("33"))])
    mug, tea = order.lines
    assert mug.total == D("45.00") and mug.discount_amount == D("5.00")
    # 12.90 x 0.67 = 8.643 -> 8.64
    assert tea.total == D("8.64") and tea.discount_amount == D("4.26")
    assert order.discount_total == D("9.26") and order.total == D("53.64")


def test_price_hook_wrappers_get_a_decimal_and_change_the_price(world, plugin):
    seen = []

    class Promotion:
        @hookimpl(wrapper=True)
        def o2o_compute_price(self, product, channel, quantity):
            price = yield
            seen.append((type(price), price, channel, quantity))
            if product.sku == "TEA" and channel == "web":
                return price - D("1.00")
            return price
    plugin(Promotion())
    web = sales.create_order(channel="web", store_id=world.web.id, fulfilment="delivery",
                             delivery_address="1 Nanjing Road", lines=[line(world.tea, 2), line(world.mug, 1)])
    assert [l.unit_price for l in web.lines] == [D("11.90"), D("25.00")]
    assert web.total == D("48.80")
    assert seen[0] == (Decimal, D("12.90"), "web", D("2"))
    shop = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 1)])
    assert shop.lines[0].unit_price == D("12.90")  # same price in store unless a rule says otherwise


def test_a_given_unit_price_is_used_as_is(world):
    order = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 2, unit_price=D("10"))])
    assert order.lines[0].unit_price == D("10") and order.lines[0].list_price == D("12.90")
    assert order.total == D("20.00")


@pytest.mark.parametrize("currency,total,tax", [("JPY", D("1290"), D("148")), ("KWD", D("12.900"), D("1.484")),
                                                 ("CNY", D("12.90"), D("1.48"))])
def test_currency_precision_follows_iso_4217(make_app, currency, total, tax):
    app = make_app(addons=["sales"], CURRENCY=currency)
    from core.models import Store, Tax, Unit, Product
    vat = Tax(code="TX", name="13", rate=D("13"))
    store = Store(code="CUR", name="Currency shop")
    pc = db.session.scalar(sa.select(Unit).where(Unit.code == "pc"))
    price = total if currency != "JPY" else D("1290")
    product = Product(sku="CUR1", name="Thing", unit=pc, tax=vat, list_price=price)
    db.session.add_all([vat, store, product])
    db.session.flush()
    order = sales.create_order(channel="pos", store_id=store.id, lines=[{"product_id": product.id, "quantity": D(1)}])
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.currency == currency
    assert order.total == total and str(order.total) == str(total)
    assert order.tax_total == tax and str(order.tax_total) == str(tax)
    assert app.config["CURRENCY"] == currency


def test_numbers_come_from_the_core_sequence(world):
    first = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 1)])
    second = sales.create_order(channel="web", store_id=world.b.id, lines=[line(world.tea, 1)])
    year = timeutil.today(world.a).year
    assert first.number.startswith(f"SO{year}-")
    assert int(second.number.rsplit("-", 1)[1]) == int(first.number.rsplit("-", 1)[1]) + 1


def test_channels_are_a_registry_third_party_addons_extend(world, plugin):
    assert {"pos", "web"} <= set(sales.channels())
    with pytest.raises(ValidationError, match="Unknown sales channel 'marketplace'"):
        sales.create_order(channel="marketplace", store_id=world.a.id, lines=[line(world.tea, 1)])

    class Marketplace:
        @hookimpl
        def o2o_sales_channels(self):
            return [("marketplace", "Marketplace")]
    plugin(Marketplace())
    order = sales.create_order(channel="marketplace", store_id=world.a.id, lines=[line(world.tea, 1)])
    assert order.channel == "marketplace"


# --- payments ---------------------------------------------------------------------------------

def test_carry_out_split_payment_with_change_issues_stock_and_fires_events(world, events):
    order = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 3), line(world.mug, 1)])
    assert order.total == D("63.70")
    sales.pay_order(order.id, [{"method": "card", "amount": D("40.00"), "reference": "SLIP-991"},
                               {"method": "cash", "amount": D("50")}])
    assert order.state == "fulfilled" and order.paid_at and order.fulfilled_at
    card, cash = order.payments
    assert (card.method, card.amount, card.reference, card.is_cash) == ("card", D("40.00"), "SLIP-991", False)
    assert (cash.method, cash.tendered, cash.amount, cash.change, cash.is_cash) == \
        ("cash", D("50.00"), D("23.70"), D("26.30"), True)
    assert order.change_given == D("26.30") and order.cash_rounding == D("0")
    assert sum(p.amount for p in order.payments) == order.total
    assert world.stock(world.tea, world.a) == (D("7"), D("7"))
    assert world.stock(world.mug, world.a) == (D("9"), D("9"))
    assert world.stock(world.tea, world.b) == (D("10"), D("10"))  # the other shop is untouched
    moves = sales.stock_moves(order)
    assert sorted((m.product_id, m.quantity) for m in moves) == sorted([(world.tea.id, D("3")), (world.mug.id, D("1"))])
    assert [e[0] for e in events] == ["confirmed", "paid", "fulfilled"]
    assert events[1][2] == "paid" and events[2][2] == "fulfilled"


@pytest.fixture
def rounding(sales_app):
    sales_app.config["SALES_CASH_ROUNDING"] = "0.05"
    yield
    sales_app.config["SALES_CASH_ROUNDING"] = "0"


def test_cash_rounding_to_005_recorded_on_the_order(world, rounding):
    # 3 x 12.90 + 1 x 8.99 kg... use a total ending in .x2: 12.90 + 1.000 kg rice 8.99 = 21.89
    order = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 1), line(world.rice, 1)])
    assert order.total == D("21.89")
    sales.pay_order(order.id, [{"method": "cash", "amount": D("50")}])
    assert order.cash_rounding == D("0.01")            # 21.89 -> 21.90 in cash
    assert order.change_given == D("28.10")
    assert order.payments[0].amount == D("21.90") == order.total + order.cash_rounding
    assert order.amount_paid == D("21.90")


def test_cash_rounding_on_the_cash_part_of_a_split_payment_only(world, rounding):
    order = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 1), line(world.rice, 1)])
    sales.pay_order(order.id, [{"method": "card", "amount": D("10.00")}, {"method": "cash", "amount": D("11.90")}])
    # cash part 11.89 -> 11.90, exact tender: no change
    assert order.cash_rounding == D("0.01") and order.change_given == D("0")
    card_only = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 1), line(world.rice, 1)])
    sales.pay_order(card_only.id, [{"method": "card", "amount": D("21.89")}])
    assert card_only.cash_rounding == D("0") and card_only.amount_paid == D("21.89")


def test_cash_rounding_down_lets_the_customer_pay_less(world, rounding):
    order = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 1), line(world.tea, 1, unit_price=D("9.12"))])
    assert order.total == D("22.02")
    sales.pay_order(order.id, [{"method": "cash", "amount": D("22.00")}])
    assert order.cash_rounding == D("-0.02") and order.change_given == D("0")


def _order_state(order_id):
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    return order.state, len(order.payments)


@pytest.mark.parametrize("payments,message", [
    ([{"method": "cash", "amount": D("20")}], "do not cover the total"),
    ([{"method": "card", "amount": D("25.00")}], "do not cover the total"),
    ([{"method": "card", "amount": D("26.00")}], "only cash gives change"),
    ([{"method": "card", "amount": D("25.80")}, {"method": "cash", "amount": D("5")}], "remove the cash payment"),
    ([{"method": "bitcoin", "amount": D("25.80")}], "unknown payment method 'bitcoin'"),
    ([{"method": "card", "amount": D("-25.80")}], "must be more than zero"),
    ([{"method": "card", "amount": D("25.801")}], "more decimals than the currency CNY"),
    ([], "do not cover the total"),
])
def test_payments_that_do_not_fit_are_refused_and_nothing_is_written(world, payments, message):
    order = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 2)])
    assert order.total == D("25.80")
    with pytest.raises(ValidationError, match=message):
        sales.pay_order(order.id, payments)
    assert _order_state(order.id) == ("draft", 0)
    assert count(Payment) == 0
    assert world.stock(world.tea, world.a) == (D("10"), D("10"))


def test_float_amounts_are_refused(world):
    order = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 2)])
    with pytest.raises(ValidationError, match="not a float"):
        sales.pay_order(order.id, [{"method": "card", "amount": 25.80}])


def test_paying_twice_is_refused(world):
    order = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 1)])
    sales.pay_order(order.id, [{"method": "card", "amount": D("12.90")}])
    with pytest.raises(Conflict, match="already paid"):
        sales.pay_order(order.id, [{"method": "card", "amount": D("12.90")}])
    assert count(Payment) == 1
    assert world.stock(world.tea, world.a) == (D("9"), D("9"))


def test_inactive_payment_method_is_refused(world):
    from addons.sales.models import PaymentMethod
    voucher = db.session.scalar(sa.select(PaymentMethod).where(PaymentMethod.code == "voucher"))
    voucher.active = False
    order = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 1)])
    with pytest.raises(ValidationError, match="no longer accepted"):
        sales.pay_order(order.id, [{"method": "voucher", "amount": D("12.90")}])


def test_methods_are_data(world):
    assert [m.code for m in sales.payment_methods()] == ["cash", "card", "wallet", "voucher", "store_credit"]
    assert [m.code for m in sales.payment_methods() if m.is_cash] == ["cash"]
    from addons.sales.models import PaymentMethod
    db.session.add(PaymentMethod(code="alipay", name="Alipay", kind="wallet", sequence=31))
    db.session.flush()
    order = sales.create_order(channel="web", store_id=world.a.id, lines=[line(world.tea, 1)])
    sales.pay_order(order.id, [{"method": "alipay", "amount": D("12.90"), "reference": "2026112200001"}])
    assert order.payments[0].method == "alipay" and order.payments[0].reference == "2026112200001"


def test_carry_out_beyond_stock_is_refused_and_nothing_is_written_where_the_store_refuses(world):
    world.wh.set_till_short_stock(world.wh.warehouse_for_store(world.a.id).id, "refuse")
    order = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 11)])
    with pytest.raises(InsufficientStock, match="Green tea"):
        with db.session.begin_nested():
            sales.pay_order(order.id, [{"method": "card", "amount": order.total}])
    assert _order_state(order.id) == ("draft", 0)
    assert world.stock(world.tea, world.a) == (D("10"), D("10"))


def test_carry_out_beyond_stock_is_recorded_with_a_negative_stock_exception(world):
    # the goods are in the shopper's hand (DESIGN "Stock": a till sale is a fact)
    order = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 11)])
    sales.pay_order(order.id, [{"method": "card", "amount": order.total}])
    assert order.state == "fulfilled"
    assert world.stock(world.tea, world.a) == (D("-1"), D("-1"))
    flag = db.session.scalar(sa.select(world.wh.NegativeStock).where(world.wh.NegativeStock.source == order.number))
    assert flag.quantity_short == D("1") and flag.product_id == world.tea.id and flag.state == "open"


# --- pickup and delivery ------------------------------------------------------------------------

def test_pickup_reserves_at_the_pickup_store_and_issues_when_collected(world, events):
    order = sales.create_order(channel="web", store_id=world.web.id, fulfilment="pickup", pickup_store_id=world.b.id,
                               customer_id=world.customer.id, lines=[line(world.tea, 4), line(world.mug, 1)])
    sales.confirm_order(order.id)
    assert order.state == "confirmed" and all(l.reservation_id for l in order.lines)
    assert world.stock(world.tea, world.b) == (D("10"), D("6"))      # on hand, available
    assert world.stock(world.tea, world.a) == (D("10"), D("10"))
    sales.pay_order(order.id, [{"method": "wallet", "amount": D("76.60"), "reference": "WX1"}])
    assert order.state == "paid"
    assert world.stock(world.tea, world.b) == (D("10"), D("6"))      # paid online: still on the shelf
    sales.fulfil_order(order.id)
    assert order.state == "fulfilled"
    assert world.stock(world.tea, world.b) == (D("6"), D("6"))       # down once, reservation gone
    assert world.stock(world.mug, world.b) == (D("9"), D("9"))
    reservations = [db.session.get(world.wh.Reservation, l.reservation_id) for l in order.lines]
    assert [r.state for r in reservations] == ["issued", "issued"]
    assert [e[0] for e in events] == ["confirmed", "paid", "fulfilled"]
    assert len(sales.stock_moves(order)) == 2


def test_delivery_reserves_at_the_order_store(world):
    order = sales.create_order(channel="web", store_id=world.a.id, fulfilment="delivery",
                               delivery_address="88 Huaihai Road", lines=[line(world.rice, "2.5")])
    sales.confirm_order(order.id)
    assert world.stock(world.rice, world.a) == (D("10"), D("7.5"))


def test_paying_a_draft_pickup_order_confirms_and_reserves_it(world, events):
    order = sales.create_order(channel="web", store_id=world.a.id, fulfilment="pickup", lines=[line(world.tea, 2)])
    sales.pay_order(order.id, [{"method": "card", "amount": D("25.80")}])
    assert order.state == "paid" and order.pickup_store_id == world.a.id
    assert world.stock(world.tea, world.a) == (D("10"), D("8"))
    assert [e[0] for e in events] == ["confirmed", "paid"]


def test_cancel_releases_the_reservation(world, events):
    order = sales.create_order(channel="web", store_id=world.a.id, fulfilment="pickup", lines=[line(world.tea, 3)])
    sales.confirm_order(order.id)
    assert world.stock(world.tea, world.a) == (D("10"), D("7"))
    sales.cancel_order(order.id, "customer changed her mind")
    assert order.state == "cancelled" and order.cancel_reason == "customer changed her mind"
    assert world.stock(world.tea, world.a) == (D("10"), D("10"))
    assert events[-1] == ("cancelled", order.number, "customer changed her mind")
    with pytest.raises(Conflict, match="already cancelled"):
        sales.cancel_order(order.id, "again")
    with pytest.raises(Conflict, match="cancelled"):
        sales.confirm_order(order.id)
    with pytest.raises(Conflict, match="cancelled"):
        sales.pay_order(order.id, [{"method": "card", "amount": D("38.70")}])


def test_a_paid_but_uncollected_pickup_can_be_cancelled(world):
    order = sales.create_order(channel="web", store_id=world.a.id, fulfilment="pickup", lines=[line(world.tea, 3)])
    sales.pay_order(order.id, [{"method": "wallet", "amount": D("38.70")}])
    sales.cancel_order(order.id, "not collected within 7 days")
    assert order.state == "cancelled" and order.paid_at is not None
    assert world.stock(world.tea, world.a) == (D("10"), D("10"))


def test_confirming_twice_is_refused(world):
    order = sales.create_order(channel="web", store_id=world.a.id, fulfilment="pickup", lines=[line(world.tea, 3)])
    sales.confirm_order(order.id)
    with pytest.raises(Conflict, match="already confirmed"):
        sales.confirm_order(order.id)
    assert world.stock(world.tea, world.a) == (D("10"), D("7"))  # reserved once


def test_cancelling_a_paid_carry_out_is_refused(world):
    order = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 1)])
    sales.pay_order(order.id, [{"method": "cash", "amount": D("20")}])
    with pytest.raises(Conflict, match="Record a return instead"):
        sales.cancel_order(order.id, "oops")
    assert order.state == "fulfilled"
    assert world.stock(world.tea, world.a) == (D("9"), D("9"))


def test_cancel_needs_a_reason(world):
    order = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 1)])
    with pytest.raises(ValidationError, match="Say why"):
        sales.cancel_order(order.id, "  ")


def test_fulfil_refusals(world):
    carry = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 1)])
    with pytest.raises(Conflict, match="carry-out"):
        sales.fulfil_order(carry.id)
    pickup = sales.create_order(channel="web", store_id=world.a.id, fulfilment="pickup", lines=[line(world.tea, 1)])
    sales.confirm_order(pickup.id)
    with pytest.raises(Conflict, match="not paid yet"):
        sales.fulfil_order(pickup.id)
    sales.pay_order(pickup.id, [{"method": "card", "amount": D("12.90")}])
    sales.fulfil_order(pickup.id)
    with pytest.raises(Conflict, match="fulfilled"):
        sales.fulfil_order(pickup.id)
    assert world.stock(world.tea, world.a) == (D("9"), D("9"))


def test_confirm_beyond_available_is_refused(world):
    order = sales.create_order(channel="web", store_id=world.a.id, fulfilment="pickup",
                               lines=[line(world.mug, 2), line(world.tea, 11)])
    with pytest.raises(InsufficientStock, match="Green tea"):
        with db.session.begin_nested():
            sales.confirm_order(order.id)
    assert _order_state(order.id) == ("draft", 0)
    assert world.stock(world.mug, world.a) == (D("10"), D("10"))  # all or nothing


# --- bad input on create ----------------------------------------------------------------------

@pytest.mark.parametrize("make_lines,message", [
    (lambda w: [line(w.tea, 0)], "must be more than zero, not 0"),
    (lambda w: [line(w.tea, -2)], "must be more than zero"),
    (lambda w: [{"product_id": 999999, "quantity": D(1)}], "there is no product with id 999999"),
    (lambda w: [line(w.old, 1)], r"\[OLD\] Discontinued is no longer sold"),
    (lambda w: [line(w.tea, "1.5")], "sold in pc with 0 decimals"),
    (lambda w: [line(w.rice, "1.0005")], "sold in kg with 3 decimals"),
    (lambda w: [line(w.tea, 1, discount=D("120"))], "between 0 and 100"),
    (lambda w: [line(w.tea, 1, unit_price=D("-1"))], "cannot be negative"),
    (lambda w: [{"product_id": w.tea.id, "quantity": 1.5}], "not a float"),
    (lambda w: [{"product_id": w.tea.id, "quantity": "abc"}], "must be a number"),
    (lambda w: [{"quantity": D(1)}], "needs a product_id"),
    (lambda w: [], "at least one line"),
    (lambda w: [line(w.tea, "1E12")], "too large"),
    (lambda w: [line(w.tea, 1, unit_price=D("1E13"))], "too large"),
    (lambda w: [line(w.tea, "99999999999", unit_price=D("1000"))], "too large"),
])
def test_bad_lines_are_refused_and_nothing_is_written(world, make_lines, message):
    before = count(Order), count(OrderLine)
    with pytest.raises(ValidationError, match=message):
        sales.create_order(channel="pos", store_id=world.a.id, lines=make_lines(world))
    assert (count(Order), count(OrderLine)) == before


@pytest.mark.parametrize("kwargs,message", [
    (dict(store_id=999999), "no store with id 999999"),
    (dict(customer_id=999999), "no customer with id 999999"),
    (dict(fulfilment="drone"), "Unknown fulfilment 'drone'"),
    (dict(fulfilment="delivery"), "needs a delivery address"),
    (dict(fulfilment="carry_out", pickup_store_id=1), "only for pickup orders"),
    (dict(fulfilment="pickup", pickup_store_id=999999), "no store with id 999999"),
    (dict(channel="fax"), "Unknown sales channel 'fax'"),
])
def test_bad_order_headers_are_refused(world, kwargs, message):
    args = dict(channel="pos", store_id=world.a.id, lines=[line(world.tea, 1)])
    args.update(kwargs)
    before = count(Order)
    with pytest.raises(ValidationError, match=message):
        sales.create_order(**args)
    assert count(Order) == before


def test_closed_store_takes_no_orders(world):
    world.b.active = False
    with pytest.raises(ValidationError, match="Shop B is closed"):
        sales.create_order(channel="pos", store_id=world.b.id, lines=[line(world.tea, 1)])


def test_a_listener_can_refuse_an_event_and_the_order_stays_unpaid(world, plugin):
    class Guard:
        @hookimpl
        def o2o_order_paid(self, order):
            raise ValidationError("fiscal printer offline")
    plugin(Guard())
    order = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 1)])
    with pytest.raises(ValidationError, match="fiscal printer offline"):
        with db.session.begin_nested():
            sales.pay_order(order.id, [{"method": "card", "amount": D("12.90")}])
    assert _order_state(order.id) == ("draft", 0)
    assert world.stock(world.tea, world.a) == (D("10"), D("10"))


def test_orders_query_filters(world):
    a = sales.create_order(channel="pos", store_id=world.a.id, lines=[line(world.tea, 1)])
    b = sales.create_order(channel="web", store_id=world.b.id, customer_id=world.customer.id,
                           fulfilment="pickup", lines=[line(world.tea, 1)])
    sales.confirm_order(b.id)

    def numbers(**kw):
        return [o.number for o in db.session.scalars(sales.orders_query(**kw))]
    assert set(numbers()) >= {a.number, b.number}
    assert numbers(channel="web") == [b.number]
    assert numbers(store_id=world.a.id) == [a.number]
    assert numbers(state="confirmed") == [b.number]
    assert numbers(customer_id=world.customer.id) == [b.number]
    assert numbers(store_ids={world.a.id}) == [a.number]
    today = timeutil.today(world.a)  # the stores' business date, not the machine's (UTC)
    assert len(numbers(date_from=today, date_to=today)) == 2
    assert numbers(date_to=today - dt.timedelta(days=2)) == []
