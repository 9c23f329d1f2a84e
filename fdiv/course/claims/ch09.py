"""Claims of chapter 09."""
from __future__ import annotations

CLAIMS: list = []
