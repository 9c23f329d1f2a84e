"""Claims of chapter 07."""
from __future__ import annotations

CLAIMS: list = []
