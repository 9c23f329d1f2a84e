"""The claims the chapters assert, by name, and the recorded sweep over all their seeds.

Each chapter's claims are listed in its own module (``ch05``, ``ch07``, ...) and collected here
explicitly.  ``record.json`` beside this file holds the last full sweep (every claim on every seed it
promises, in the default profile) with the machine it ran on: ``make test-claims`` writes it, the
chapters quote its ranges beside their own fresh runs, and a test checks that it is complete, fresh
(each claim's fingerprint matches) and that every claim holds in it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

from fdiv.course.claims import ch05, ch07, ch08, ch09, ch10, ch11
from fdiv.course.claims.base import Claim, Sweep

__all__ = ["CLAIMS", "RECORD", "get", "names", "for_chapter", "read_record", "recorded"]

CLAIMS: Dict[str, Claim] = {c.name: c for m in (ch05, ch07, ch08, ch09, ch10, ch11) for c in m.CLAIMS}

RECORD = Path(__file__).with_name("record.json")


def names() -> List[str]:
    return list(CLAIMS)


def get(name: str) -> Claim:
    """The claim called ``name``; a ``ValueError`` naming the known claims otherwise."""
    try:
        return CLAIMS[name]
    except KeyError:
        raise ValueError(f"unknown claim {name!r}; known: {', '.join(CLAIMS)}") from None


def for_chapter(chapter: str) -> List[Claim]:
    return [c for c in CLAIMS.values() if c.chapter == chapter]


def read_record(path=None) -> Dict[str, Any]:
    """The recorded sweep (``{"machine": ..., "claims": {name: {...}}}``); empty when there is none."""
    p = Path(path) if path is not None else RECORD
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def recorded(name: str, path=None) -> Optional[Sweep]:
    """The recorded sweep of claim ``name``, or None when it is missing or stale (another fingerprint)."""
    claim = get(name)
    entry = read_record(path).get("claims", {}).get(name)
    if not entry or entry.get("fingerprint") != claim.fingerprint():
        return None
    return Sweep(claim, {int(s): f for s, f in entry["rows"].items()}, fast=bool(entry.get("fast")))
