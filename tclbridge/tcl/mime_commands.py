"""Placeholder: the mime command layer (being written)."""

from __future__ import annotations


class MimeCommands:
    def __init__(self, bridge) -> None:
        self.bridge = bridge


def install(bridge) -> MimeCommands:
    return MimeCommands(bridge)
