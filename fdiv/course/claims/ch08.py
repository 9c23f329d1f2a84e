"""Claims of chapter 08."""
from __future__ import annotations

CLAIMS: list = []
