"""``o2o pos ...`` commands."""
import click


@click.group("pos")
def pos_group():
    """Point of sale: journal verification."""
