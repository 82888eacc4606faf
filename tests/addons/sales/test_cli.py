"""``o2o sales ...`` commands."""
from __future__ import annotations

from decimal import Decimal

from addons.sales import services as sales

D = Decimal


def test_list_show_cancel(world, sales_app):
    order = sales.create_order(channel="web", store_id=world.a.id, fulfilment="pickup",
                               lines=[{"product_id": world.tea.id, "quantity": D(2)}])
    sales.confirm_order(order.id)
    paid = sales.create_order(channel="pos", store_id=world.a.id, lines=[{"product_id": world.tea.id, "quantity": D(1)}])
    sales.pay_order(paid.id, [{"method": "cash", "amount": D("20")}])
    runner = sales_app.test_cli_runner()
    out = runner.invoke(args=["sales", "list", "--store", "SA"]).output
    assert order.number in out and paid.number in out
    out = runner.invoke(args=["sales", "show", paid.number]).output
    assert "[TEA]" not in out and "Green tea" in out and "change 7.10" in out
    result = runner.invoke(args=["sales", "cancel", paid.number, "--reason", "oops"])
    assert result.exit_code == 1 and "Record a return instead" in result.output
    result = runner.invoke(args=["sales", "cancel", order.number, "--reason", "not collected"])
    assert result.exit_code == 0, result.output
    assert world.stock(world.tea, world.a) == (D("9"), D("9"))
    assert runner.invoke(args=["sales", "show", "SO-NOPE"]).exit_code == 1
