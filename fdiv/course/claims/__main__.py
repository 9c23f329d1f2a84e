"""``python -m fdiv.course.claims [NAME ...] [--seeds ci|book|all] [--record FILE [--stale]] [--list]``.

Runs the claims (default: every one) on their seeds in the default profile, prints one verdict line
each and the figures' ranges, writes the sweep to FILE with the machine it ran on (``--record``:
only a run of every claim on every seed, so the record stays complete), and exits 1 when a claim fails.
``--stale`` runs only the claims whose entry in FILE is missing or stale (its settings changed since),
on every seed, and replaces just those entries, when FILE was recorded on this machine.
``make test-claims`` runs it on every seed and writes ``fdiv/course/claims/record.json``.
"""
from __future__ import annotations

import argparse
import sys
import time

from fdiv.core.files import atomic_write_json
from fdiv.course.claims.base import machine, sweep
from fdiv.course.claims.registry import CLAIMS, get, read_record


def _seeds(claim, which: str):
    if which == "ci":
        return claim.ci_seeds or claim.seeds
    if which == "book":
        return claim.book_seeds or claim.seeds
    return claim.seeds


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m fdiv.course.claims", description=__doc__.split("\n\n")[1])
    p.add_argument("names", nargs="*", metavar="NAME", help="claims to run (default: all)")
    p.add_argument("--seeds", choices=("ci", "book", "all"), default="all")
    p.add_argument("--record", metavar="FILE", help="write the sweep and the machine to FILE (JSON)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: one per core)")
    p.add_argument("--stale", action="store_true",
                   help="with --record: run only the claims whose entry in FILE is missing or stale")
    p.add_argument("--list", action="store_true", help="list the claims and exit")
    args = p.parse_args(argv)
    if args.list:
        for c in CLAIMS.values():
            print(f"ch{c.chapter}  {c.name:32s} {c.promise}: {c.statement}")
        return 0
    try:
        claims = [get(n) for n in args.names] or list(CLAIMS.values())
    except ValueError as exc:
        p.error(str(exc))
    if args.record and (args.seeds != "all" or args.names):
        p.error("--record needs every claim on every seed (no NAME, --seeds all)")
    failed, record = [], {"machine": machine(), "claims": {}}
    record["machine"]["threads"] = 1  # each seed runs in a process of its own with one torch thread
    if args.stale:
        if not args.record:
            p.error("--stale needs --record FILE (the record whose stale entries it replaces)")
        old = read_record(args.record)
        if not old.get("claims"):
            p.error(f"--stale: {args.record} holds no record; run without --stale to write a full one")
        if old.get("machine") != record["machine"]:
            p.error(f"--stale: {args.record} was recorded on another machine ({old.get('machine')}); "
                    "run without --stale to record every claim here")
        record["claims"] = {n: e for n, e in old["claims"].items() if n in CLAIMS}
        claims = [c for c in claims if record["claims"].get(c.name, {}).get("fingerprint") != c.fingerprint()]
        print(f"stale or missing in {args.record}: {', '.join(c.name for c in claims) or 'none'}", flush=True)
    for claim in claims:
        t0 = time.perf_counter()
        result = sweep(claim, _seeds(claim, args.seeds), workers=args.workers, progress=False)
        seconds = time.perf_counter() - t0
        print(f"{result.verdict_line()}  [{seconds:.0f} s]", flush=True)
        ranges = result.ranges()
        for key, r in ranges.items():
            per_seed = " ".join(f"{f[key]:.4g}" for f in result.rows.values())
            print(f"    {key:36s} mean {r['mean']:9.4g}  min {r['min']:9.4g}  max {r['max']:9.4g}  [{per_seed}]")
        record["claims"][claim.name] = {**result.to_json(), "seconds": round(seconds, 1)}
        if not result.holds:
            failed.append(claim.name)
    if args.record:
        record["date"] = time.strftime("%Y-%m-%d")
        atomic_write_json(args.record, record)
        print(f"wrote {args.record}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"{len(claims)} claims hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
