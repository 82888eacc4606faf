"""Admin screens (filled in below)."""


def views():
    return []
