"""Helpers shared by several test modules."""

from __future__ import annotations

from typing import Any


def nones(value: Any, where: str = "") -> list[str]:
    """The paths of every None inside a JSON-like value (Entra: "don't send null values")."""
    if value is None:
        return [where or "<root>"]
    if isinstance(value, dict):
        return [hit for key, item in value.items() for hit in nones(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [hit for index, item in enumerate(value) for hit in nones(item, f"{where}[{index}]")]
    return []
