"""Admin views of the point of sale."""


def views():
    return []
