"""Sales admin screens (filled in below)."""


def admin_views():
    return []
