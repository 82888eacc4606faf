import click


@click.group("purchasing")
def purchasing():
    """Purchasing: replenishment, orders, receipts, bills."""
