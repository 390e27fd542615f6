"""Placeholder: the smtp command layer (being written)."""

from __future__ import annotations


def install(bridge):
    return None
