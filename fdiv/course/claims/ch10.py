"""Claims of chapter 10."""
from __future__ import annotations

CLAIMS: list = []
