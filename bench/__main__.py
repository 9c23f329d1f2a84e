"""``python -m bench [--quick] [--only overhead,toys,gaussian,images,cuda]``: print the benchmark tables (markdown)."""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import torch

from . import markdown


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="smaller budgets (GAN only on the toy sets)")
    p.add_argument("--only", default="overhead,toys,gaussian,images,cuda",
                   help="comma-separated subset of: overhead, toys, gaussian, images, cuda (one GPU; one line "
                        "saying so where there is none)")
    p.add_argument("--datasets", default="ring8,grid25")
    p.add_argument("--divergences", default=None, help="comma-separated names (default: all; --quick: gan)")
    p.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds of the toy runs (every divergence "
                   "and the WGAN-GP peer at each)")
    p.add_argument("--jobs", type=int, default=1, help="toy runs at a time (each one torch thread)")
    p.add_argument("--no-peer", action="store_true", help="leave out the WGAN-GP peer rows")
    p.add_argument("--save", metavar="DIR", help="write each toy data set's runs to DIR/toys-DATASET.json")
    args = p.parse_args(argv)
    if args.divergences:
        import fdiv
        bad = [n for n in args.divergences.split(",") if n not in fdiv.names()]
        if bad:
            p.error(f"unknown divergence(s) {', '.join(bad)}; allowed: {', '.join(fdiv.names())}")
    parts = set(args.only.split(","))
    seeds = tuple(int(s) for s in args.seeds.split(","))
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = float("nan")
    print(f"# fdiv benchmarks\n\nmachine: {platform.machine()}, {os.cpu_count()} CPUs, load average {load:.1f}, "
          f"torch {torch.__version__}, cuda {'yes' if torch.cuda.is_available() else 'no'}\n", flush=True)
    t0 = time.time()
    if "overhead" in parts:
        from . import overhead
        print(markdown(overhead.table(args.quick)), flush=True)
    if "toys" in parts:
        from . import toys
        divs = None
        if args.divergences:
            divs = [(n, {"alpha": 0.5} if n == "alpha" else {}) for n in args.divergences.split(",")]
        elif args.quick:
            divs = [("gan", {})]
        for ds in args.datasets.split(","):
            save = None
            if args.save:
                os.makedirs(args.save, exist_ok=True)
                save = os.path.join(args.save, f"toys-{ds}.json")
            runs = toys.results(ds, divs, seeds=seeds[:1] if args.quick else seeds, jobs=args.jobs,
                                peer=not (args.quick or args.no_peer), save=save)
            print(markdown(toys.table(ds, runs, jobs=args.jobs)), flush=True)
            print(markdown(toys.summary(ds, runs)), flush=True)
    if "gaussian" in parts:
        from . import gaussian
        print(markdown(gaussian.table(args.quick, seed=seeds[0])), flush=True)
    if "images" in parts:
        try:
            from . import images
        except ImportError:
            images = None
        if images is not None and hasattr(images, "tables"):
            for t in images.tables(args.quick):
                print(markdown(t), flush=True)
    if "cuda" in parts:
        from . import cuda
        why = cuda.unavailable()
        print(why if why is not None else markdown(cuda.table(args.quick)), flush=True)
    print(f"total {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
