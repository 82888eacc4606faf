"""Core demo data: a chain in one city. (Filled in by the master-data work.)"""
from __future__ import annotations


def load_core_demo(session, app) -> None:
    from core.services.base_data import create_core_base_data
    create_core_base_data(session)
