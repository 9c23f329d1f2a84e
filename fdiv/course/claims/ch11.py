"""Claims of chapter 11."""
from __future__ import annotations

CLAIMS: list = []
