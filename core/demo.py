"""Core demo data: a grocery chain in Shanghai.

A distribution centre and five shops with real-looking addresses, coordinates and opening
hours; a category tree; about three hundred products with valid EAN-13 barcodes (GS1 China
prefix 69x) and tax-inclusive CNY prices; VAT 13 %, 9 % and 0 %; suppliers and customers;
roles for each job (granted addon by addon with wildcards) and a user for each, limited to
their stores where the job is in a store. Every demo user's password is ``DEMO_PASSWORD``.

Deterministic (one seeded ``random.Random``) and quick: a few hundred rows, one password
hash shared by all demo users.
"""
from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from core.barcodes import make_ean13
from core.models import Category, Partner, Product, Role, Store, Tax, Unit, User
from core.auth.models import RolePermission

DEMO_PASSWORD = "o2o-demo"
SEED = 20260101

# code, name, kind, street, postcode, phone, latitude, longitude, opening hours
STORES = [
    ("DC01", "Jiading Distribution Centre", "dc", "1288 Huyi Highway, Jiading District", "201821",
     "+86 21 5995 1200", "31.362810", "121.265470", "Mo-Su 05:00-23:00"),
    ("SH01", "Jing'an Temple", "shop", "1618 Nanjing West Road, Jing'an District", "200040",
     "+86 21 6248 3100", "31.223610", "121.445770", "Mo-Su 07:00-23:00"),
    ("SH02", "Xujiahui", "shop", "1 Hongqiao Road, Xuhui District", "200030",
     "+86 21 6447 0200", "31.195370", "121.437060", "Mo-Su 08:00-22:00"),
    ("SH03", "Lujiazui", "shop", "168 Lujiazui West Road, Pudong New Area", "200120",
     "+86 21 5878 0300", "31.239630", "121.499770", "Mo-Fr 07:00-22:30; Sa-Su 09:00-22:30"),
    ("SH04", "Wujiaochang", "shop", "10 Songhu Road, Yangpu District", "200433",
     "+86 21 6511 0400", "31.300830", "121.513520", "Mo-Su 08:00-22:00"),
    ("SH05", "Zhongshan Park", "shop", "1018 Changning Road, Changning District", "200042",
     "+86 21 6211 0500", "31.219570", "121.417610", "24/7"),
]

TAXES = [("VAT13", "VAT 13%", Decimal("13")), ("VAT9", "VAT 9%", Decimal("9")), ("VAT0", "No tax (0%)", Decimal("0"))]

# leaf category path, SKU prefix, tax, brands, items: (name, sizes, unit, price of the first size)
CATALOGUE = [
    ("Food / Dairy", "DAI", "VAT9", ["Bright", "Yili", "Mengniu", "Junlebao"],
     [("Fresh Milk", ["250ml", "950ml"], "pc", "4.50"), ("Plain Yogurt", ["100g", "400g"], "pc", "3.90"),
      ("Strawberry Yogurt", ["100g"], "pc", "4.20"), ("Skimmed Milk", ["1L"], "pc", "13.90"),
      ("Cheese Slices", ["150g"], "pc", "19.90")]),
    ("Food / Bakery", "BAK", "VAT13", ["Mankattan", "Toly", "Holiland"],
     [("Sliced White Bread", ["400g"], "pc", "9.90"), ("Whole Wheat Toast", ["400g"], "pc", "11.90"),
      ("Red Bean Bun", ["4 pcs"], "pc", "8.50"), ("Egg Tart", ["6 pcs"], "pc", "15.90")]),
    ("Food / Rice & Noodles", "RIC", "VAT9", ["Fortune", "COFCO", "Golden Dragon", "Wugu Daochang"],
     [("Northeast Rice", ["2.5kg", "5kg"], "pc", "26.90"), ("Jasmine Rice", ["5kg"], "pc", "45.90"),
      ("Wheat Noodles", ["1kg"], "pc", "8.90"), ("Glutinous Rice", ["1kg"], "pc", "12.50")]),
    ("Food / Instant Food", "INS", "VAT13", ["Master Kong", "Uni-President", "Baixiang"],
     [("Braised Beef Noodles", ["single", "5-pack"], "pc", "4.50"), ("Pickled Cabbage Noodles", ["single", "5-pack"],
                                                                    "pc", "4.50"),
      ("Seafood Cup Noodles", ["single"], "pc", "5.50")]),
    ("Food / Snacks", "SNK", "VAT13", ["Want Want", "Three Squirrels", "Oishi", "Lay's"],
     [("Rice Crackers", ["84g", "520g"], "pc", "6.90"), ("Roasted Sunflower Seeds", ["200g"], "pc", "9.90"),
      ("Potato Chips Cucumber", ["70g"], "pc", "7.50"), ("Mixed Nuts", ["750g"], "pc", "89.00"),
      ("Dried Mango", ["108g"], "pc", "15.90")]),
    ("Food / Condiments", "CON", "VAT13", ["Haitian", "Lee Kum Kee", "Totole", "Laoganma"],
     [("Light Soy Sauce", ["500ml", "1.9L"], "pc", "9.90"), ("Oyster Sauce", ["510g"], "pc", "12.90"),
      ("Chilli Crisp Oil", ["280g"], "pc", "11.50"), ("Black Rice Vinegar", ["500ml"], "pc", "8.50"),
      ("Chicken Bouillon", ["200g"], "pc", "10.90")]),
    ("Food / Cooking Oil", "OIL", "VAT9", ["Arowana", "Fortune", "Luhua", "Knife"],
     [("Peanut Oil", ["1.8L", "5L"], "pc", "39.90"), ("Soybean Oil", ["5L"], "pc", "59.90"),
      ("Rapeseed Oil", ["5L"], "pc", "69.90"), ("Sesame Oil", ["400ml"], "pc", "22.90")]),
    ("Food / Eggs & Tofu", "EGG", "VAT9", ["Deqingyuan", "Zhuyi", "Qinghe"],
     [("Fresh Eggs", ["10 pcs", "30 pcs"], "pc", "12.90"), ("Soft Tofu", ["400g"], "pc", "3.50"),
      ("Dried Tofu", ["250g"], "pc", "5.90")]),
    ("Food / Frozen", "FRZ", "VAT13", ["Synear", "Wanchai Ferry", "Sanquan"],
     [("Pork and Cabbage Dumplings", ["500g", "1kg"], "pc", "19.90"), ("Sesame Tangyuan", ["400g"], "pc", "13.90"),
      ("Shrimp Wontons", ["300g"], "pc", "24.90")]),
    ("Food / Fruit & Vegetables", "FRV", "VAT9", [""],
     [("Bananas", ["loose"], "kg", "7.98"), ("Fuji Apples", ["loose"], "kg", "11.98"),
      ("Tomatoes", ["loose"], "kg", "6.58"), ("Bok Choy", ["loose"], "kg", "5.98"),
      ("Potatoes", ["loose"], "kg", "3.98"), ("Mandarin Oranges", ["loose"], "kg", "9.98"),
      ("Cucumbers", ["loose"], "kg", "5.58"), ("Garlic", ["loose"], "kg", "14.80")]),
    ("Drinks / Tea", "TEA", "VAT13", ["Master Kong", "Uni-President", "Nongfu Spring", "Lipton"],
     [("Iced Black Tea", ["500ml"], "pc", "3.50"), ("Green Tea", ["500ml"], "pc", "3.50"),
      ("Jasmine Tea Leaves", ["100g"], "pc", "29.90"), ("Oolong Tea", ["500ml"], "pc", "5.00")]),
    ("Drinks / Water", "WAT", "VAT13", ["Nongfu Spring", "C'estbon", "Ganten"],
     [("Mineral Water", ["550ml", "1.5L", "12x550ml"], "pc", "2.00"), ("Soda Water", ["350ml"], "pc", "3.00")]),
    ("Drinks / Soft Drinks", "SFT", "VAT13", ["Coca-Cola", "Pepsi", "Yuanqi Forest", "Wahaha"],
     [("Cola", ["330ml", "2L"], "pc", "3.00"), ("Sparkling Water White Peach", ["480ml"], "pc", "5.50"),
      ("AD Calcium Milk", ["4x220g"], "pc", "9.90"), ("Orange Juice", ["1L"], "pc", "12.90")]),
    ("Drinks / Beer & Wine", "BEV", "VAT13", ["Tsingtao", "Snow", "Great Wall", "Harbin"],
     [("Lager", ["500ml", "6x500ml"], "pc", "5.50"), ("Pure Draft", ["500ml"], "pc", "7.50"),
      ("Dry Red Wine", ["750ml"], "pc", "69.00")]),
    ("Household / Cleaning", "CLN", "VAT13", ["Liby", "Blue Moon", "Walch", "Mr Muscle"],
     [("Laundry Detergent", ["1kg", "3kg"], "pc", "19.90"), ("Dishwashing Liquid", ["1.1kg"], "pc", "12.90"),
      ("Toilet Cleaner", ["500g"], "pc", "15.90"), ("Antibacterial Hand Wash", ["500g"], "pc", "21.90")]),
    ("Household / Paper", "PAP", "VAT13", ["Vinda", "Hengan", "Breeze", "C&S"],
     [("Toilet Paper", ["10 rolls", "27 rolls"], "pc", "29.90"), ("Facial Tissue", ["3x130"], "pc", "13.90"),
      ("Kitchen Towel", ["2 rolls"], "pc", "11.90"), ("Wet Wipes", ["80 pcs"], "pc", "9.90")]),
    ("Personal Care / Oral Care", "ORL", "VAT13", ["Darlie", "Yunnan Baiyao", "Colgate", "Crest"],
     [("Toothpaste", ["120g", "200g"], "pc", "12.90"), ("Soft Toothbrush", ["2 pcs"], "pc", "15.90"),
      ("Mouthwash", ["500ml"], "pc", "29.90")]),
    ("Personal Care / Hair Care", "HAI", "VAT13", ["Head & Shoulders", "Rejoice", "Pantene", "Clear"],
     [("Anti-Dandruff Shampoo", ["400ml", "750ml"], "pc", "39.90"), ("Conditioner", ["400ml"], "pc", "35.90")]),
]

SUPPLIERS = [
    ("Bright Dairy & Food Co., Ltd.", "Shanghai", "sales@brightdairy.example.cn"),
    ("Inner Mongolia Yili Industrial Group", "Hohhot", "order@yili.example.cn"),
    ("COFCO Fortune Food Sales Co.", "Beijing", "east@cofco-fortune.example.cn"),
    ("Tingyi (Master Kong) Holding East China", "Shanghai", "kam@masterkong.example.cn"),
    ("Uni-President Enterprises (China)", "Shanghai", "trade@uni-president.example.cn"),
    ("Nongfu Spring Co., Ltd.", "Hangzhou", "retail@nongfuspring.example.cn"),
    ("Want Want China Holdings", "Shanghai", "sales@wantwant.example.cn"),
    ("Foshan Haitian Flavouring & Food", "Foshan", "ka@haitian.example.cn"),
    ("Tsingtao Brewery Shanghai Sales", "Shanghai", "sh@tsingtao.example.cn"),
    ("Guangzhou Liby Enterprise Group", "Guangzhou", "ka@liby.example.cn"),
    ("Vinda Paper (China) Co.", "Jiangmen", "trade@vinda.example.cn"),
    ("Shanghai Jiading Fresh Produce Wholesale", "Shanghai", "orders@jdfresh.example.cn"),
    ("Synear Food Holdings East", "Zhengzhou", "frozen@synear.example.cn"),
    ("Procter & Gamble (Guangzhou)", "Guangzhou", "ka-east@pg.example.cn"),
]

SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun", "Zhu",
            "Ma", "Hu", "Guo", "Lin", "He", "Gao", "Luo"]
GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Lei", "Yan", "Jie", "Tao", "Ming", "Xiu", "Hui", "Qiang", "Li",
         "Yong", "Jun", "Ting", "Hao", "Xin", "Yu"]
STREETS = ["Huaihai Middle Road", "Hengshan Road", "Siping Road", "Zhaojiabang Road", "Changle Road",
           "Yan'an West Road", "Dingxi Road", "Zhangyang Road", "Wuning Road", "Tianyaoqiao Road"]
COMPANY_CUSTOMERS = ["Shanghai Golden Lotus Restaurant", "Xuhui Kindergarten No. 3", "Pudong Tech Park Canteen",
                     "Lujiazui Office Services Co."]

# role code, name, permissions (addon wildcards where the job covers the whole addon)
ROLES = [
    ("admin", "Administrator", ["*"]),
    ("store_manager", "Store manager",
     ["pos.*", "sales.*", "warehouse.*", "reports.*", "core.store.read", "core.product.read",
      "core.category.read", "core.partner.*", "core.user.read", "purchasing.order.read",
      "purchasing.receipt.*", "purchasing.replenish.*"]),
    ("cashier", "Cashier",
     ["pos.sell", "pos.session", "core.product.read", "core.partner.read", "core.partner.create"]),
    ("warehouse_clerk", "Warehouse clerk",
     ["warehouse.*", "purchasing.receipt.*", "purchasing.order.read", "core.product.read",
      "core.store.read", "core.category.read"]),
    ("buyer", "Buyer",
     ["purchasing.*", "core.product.*", "core.category.*", "core.partner.*", "core.tax.read",
      "core.unit.read", "core.store.read", "warehouse.quant.read", "warehouse.availability.read",
      "warehouse.reorder.*", "warehouse.valuation.read", "reports.*"]),
    ("finance", "Finance",
     ["finance.*", "reports.*", "sales.read", "sales.export", "purchasing.bill.*", "purchasing.order.read",
      "core.partner.read", "core.store.read", "core.product.read", "core.tax.*", "core.audit.read",
      "warehouse.valuation.read"]),
]

# username, display name, role, store codes (None: every store), superuser
USERS = [
    ("admin", "Administrator", "admin", None, True),
    ("manager1", "Zhang Wei (Jing'an Temple)", "store_manager", ["SH01"], False),
    ("manager2", "Li Na (Xujiahui)", "store_manager", ["SH02"], False),
    ("manager3", "Wang Fang (Lujiazui)", "store_manager", ["SH03"], False),
    ("manager4", "Chen Jie (Wujiaochang)", "store_manager", ["SH04"], False),
    ("manager5", "Liu Yang (Zhongshan Park)", "store_manager", ["SH05"], False),
    ("cashier1", "Zhao Min", "cashier", ["SH01"], False),
    ("cashier2", "Huang Ting", "cashier", ["SH02"], False),
    ("cashier3", "Zhou Hao", "cashier", ["SH03"], False),
    ("cashier4", "Wu Xin", "cashier", ["SH04"], False),
    ("cashier5", "Xu Lei", "cashier", ["SH05"], False),
    ("clerk1", "Sun Qiang (DC)", "warehouse_clerk", ["DC01"], False),
    ("clerk2", "Ma Jun (Jing'an Temple, Xujiahui)", "warehouse_clerk", ["SH01", "SH02"], False),
    ("buyer", "Guo Hui", "buyer", None, False),
    ("finance", "Lin Yu", "finance", None, False),
]

_CENT = Decimal("0.01")


def _price(base: Decimal, factor: float) -> Decimal:
    """A shelf price ending in .90 / .50 / .00 like real price tags."""
    raw = base * Decimal(str(factor))
    if raw < 10:
        return (raw * 2).quantize(Decimal("1"), rounding=ROUND_HALF_UP) / 2 or Decimal("0.50")
    return raw.quantize(Decimal("1"), rounding=ROUND_HALF_UP) - Decimal("0.10")


def _size_factor(index: int, size: str) -> float:
    return [1.0, 3.3, 6.5][index] if index < 3 else 1.0


def load_core_demo(session, app=None) -> dict:
    """Create the demo chain (idempotent: does nothing when the store DC01 exists)."""
    from core.services.base_data import create_core_base_data
    from core.services.sequences import next_numbers
    create_core_base_data(session)
    if session.scalar(sa.select(Store.id).where(Store.code == "DC01")) is not None:
        return {}
    rng = random.Random(SEED)

    stores = {}
    for code, name, kind, street, postcode, phone, lat, lon, hours in STORES:
        stores[code] = Store(code=code, name=name, kind=kind, street=street, city="Shanghai", postcode=postcode,
                             country="CN", phone=phone, latitude=Decimal(lat), longitude=Decimal(lon),
                             opening_hours=hours, timezone="Asia/Shanghai", active=True)
    session.add_all(stores.values())

    taxes = {}
    for code, name, rate in TAXES:
        tax = session.scalar(sa.select(Tax).where(Tax.code == code))
        if tax is None:
            tax = Tax(code=code, name=name, rate=rate)
            session.add(tax)
        taxes[code] = tax
    units = {u.code: u for u in session.scalars(sa.select(Unit))}
    session.flush()

    nodes: dict[str, Category] = {}

    def category(path: str) -> Category:
        if path not in nodes:
            parent_path, _sep, name = path.rpartition(" / ")
            nodes[path] = Category(name=name, parent=category(parent_path) if parent_path else None)
        return nodes[path]

    products = []
    for cat_index, (path, prefix, tax_code, brands, items) in enumerate(CATALOGUE):
        leaf = category(path)
        n = 0
        for item, sizes, unit_code, price in items:
            chosen = brands if len(brands) <= 3 else rng.sample(brands, k=rng.randint(3, len(brands)))
            for brand in sorted(chosen, key=brands.index):
                bi = brands.index(brand)
                company_no = 100 + bi + 10 * cat_index  # one GS1 company prefix per brand
                brand_factor = 0.85 + rng.random() * 0.35
                for s_index, size in enumerate(sizes):
                    n += 1
                    list_price = _price(Decimal(price), _size_factor(s_index, size) * brand_factor)
                    tax_rate = taxes[tax_code].rate
                    net = list_price / (1 + tax_rate / 100)
                    cost = (net * Decimal(str(0.62 + rng.random() * 0.18))).quantize(_CENT)
                    name = " ".join(p for p in (brand, item, "" if size == "loose" else size) if p)
                    barcode = None
                    if unit_code != "kg":  # loose produce is weighed and labelled at the scale
                        barcode = make_ean13(f"69{(cat_index + bi) % 10}{company_no:04d}{n:05d}")
                    products.append(Product(
                        sku=f"{prefix}-{n:04d}", barcode=barcode, name=name, category=leaf,
                        unit=units[unit_code], tax=taxes[tax_code], list_price=list_price, cost=cost,
                        active=True, description=None))
    session.add_all(products)
    session.flush()

    rows = []
    for name, city, email in SUPPLIERS:
        rows.append(dict(
            name=name, is_supplier=True, city=city, country="CN", email=email,
            phone=f"+86 {rng.choice(['21', '10', '20', '571', '757'])} {rng.randint(5000, 8999)} {rng.randint(1000, 9999)}",
            tax_id=f"91{rng.randint(310000, 319999)}MA{rng.randint(1000000, 9999999)}"))
    for i in range(36):
        surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
        rows.append(dict(
            name=f"{surname} {given}", is_customer=True, city="Shanghai", country="CN",
            street=f"{rng.randint(1, 999)} {rng.choice(STREETS)}", postcode=f"200{rng.randint(0, 99):03d}",
            phone=f"+86 1{rng.choice('35789')}{rng.randint(0, 9)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
            email=f"{given.lower()}.{surname.lower()}{i}@mail.example.cn"))
    for name in COMPANY_CUSTOMERS:
        rows.append(dict(name=name, is_customer=True, city="Shanghai", country="CN"))
    refs = next_numbers("core.partner", len(rows), session=session)
    partners = [Partner(ref=ref, **row) for ref, row in zip(refs, rows)]
    session.add_all(partners)

    roles = {}
    for code, name, perms in ROLES:
        role = session.scalar(sa.select(Role).where(Role.code == code))
        if role is None:
            role = Role(code=code, name=name)
            session.add(role)
        have = {p.code for p in role.permissions}
        role.permissions.extend(RolePermission(code=p) for p in perms if p not in have)
        roles[code] = role
    password_hash = generate_password_hash(DEMO_PASSWORD)  # one hash for every demo user: quick
    users = []
    for username, display, role_code, store_codes, superuser in USERS:
        if session.scalar(sa.select(User.id).where(User.username == username)) is not None:
            continue
        user = User(username=username, display_name=display, email=f"{username}@demo.o2o.example",
                    is_superuser=superuser, all_stores=store_codes is None, roles=[roles[role_code]],
                    stores=[stores[c] for c in store_codes or ()])
        user.password_hash = password_hash
        users.append(user)
    session.add_all(users)
    session.flush()
    return {"stores": len(stores), "products": len(products), "partners": len(partners), "users": len(users)}
