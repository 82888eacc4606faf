"""Demo orders: a few till sales, a web order for pickup waiting to be collected, a paid
delivery and a cancelled web order, on the first products with stock in the first shops."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa


def load_demo(session, app) -> None:
    from addons.sales import services as sales
    from addons.sales.models import Order
    from addons.warehouse import services as wh
    from core.models import Partner, Product, Store

    sales.create_base_data(session)
    if session.scalar(sa.select(Order.id).limit(1)) is not None:
        return  # loaded already
    shops = session.scalars(sa.select(Store).where(Store.active.is_(True), Store.kind == "shop")
                            .order_by(Store.id).limit(2)).all()
    if not shops:
        return
    customer = session.scalar(sa.select(Partner).where(Partner.is_customer.is_(True)).order_by(Partner.id).limit(1))
    products = session.scalars(sa.select(Product).where(Product.active.is_(True)).order_by(Product.id).limit(40)).all()
    shop = shops[0]
    wid = wh.warehouse_for_store(shop.id).id
    stocked = [p for p in products if wh.available(p.id, wid) >= 3][:6]
    if len(stocked) < 3:
        return

    def lines(*picks):
        return [{"product_id": stocked[i].id, "quantity": Decimal(q)} for i, q in picks]

    till = sales.create_order(channel="pos", store_id=shop.id, lines=lines((0, 1), (1, 2)))
    sales.pay_order(till.id, [{"method": "cash", "amount": till.total.to_integral_value() + 10}])
    split = sales.create_order(channel="pos", store_id=shop.id, lines=lines((2, 1)))
    sales.pay_order(split.id, [{"method": "card", "amount": Decimal("1.00"), "reference": "DEMO-SLIP-1"},
                               {"method": "wallet", "amount": split.total - 1, "reference": "DEMO-WX-1"}])
    pickup = sales.create_order(channel="web", store_id=shop.id, fulfilment="pickup", pickup_store_id=shop.id,
                                customer_id=customer.id if customer else None, external_ref="WEB-DEMO-1",
                                lines=lines((0, 1), (2, 1)))
    sales.pay_order(pickup.id, [{"method": "wallet", "amount": pickup.total, "reference": "DEMO-WX-2"}])
    delivery = sales.create_order(channel="web", store_id=shop.id, fulfilment="delivery",
                                  delivery_address="1 Century Avenue, Pudong, Shanghai",
                                  customer_id=customer.id if customer else None, lines=lines((1, 1)))
    sales.confirm_order(delivery.id)
    cancelled = sales.create_order(channel="web", store_id=shop.id, fulfilment="pickup", lines=lines((1, 1)))
    sales.confirm_order(cancelled.id)
    sales.cancel_order(cancelled.id, "Customer cancelled online")
    session.flush()
