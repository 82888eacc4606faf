"""python -m bench [--scale small|full] [--backend sqlite|postgresql|both] [--only NAME ...]"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import pkgutil
import platform
import sys
import tempfile
import time
from pathlib import Path

from bench import Context

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--scale", default="small", choices=["small", "full"],
                        help="small: a quick run; full: the sizes the issues name")
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--pg-url", default=os.environ.get("O2O_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--only", nargs="*", help="workload modules to run (default: all)")
    parser.add_argument("--out", default=str(RESULTS / "latest.json"))
    args = parser.parse_args(argv)

    import bench.workloads as pkg
    names = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__))
    if args.only:
        unknown = set(args.only) - set(names)
        if unknown:
            parser.error(f"unknown workload(s) {sorted(unknown)}; known: {names}")
        names = [n for n in names if n in args.only]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]

    from core.testing import create_database, migrate_database
    results = {"started_at": dt.datetime.now(dt.timezone.utc).isoformat(), "scale": args.scale,
               "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                           "cpus": os.cpu_count()}, "workloads": []}
    for backend in backends:
        for name in names:
            module = importlib.import_module(f"bench.workloads.{name}")
            scale = getattr(module, "SCALES", {}).get(args.scale, {})
            tmp = tempfile.mkdtemp(prefix=f"o2o-bench-{name}-")
            url, drop = create_database(args.pg_url if backend == "postgresql" else None, tmp)
            try:
                migrate_database(url)
                print(f"[{backend}] {name} ({args.scale}) ...", flush=True)
                started = time.perf_counter()
                figures = module.run(Context(backend, url, args.scale, scale, tmp))
                elapsed = time.perf_counter() - started
            finally:
                drop()
            results["workloads"].append({"workload": name, "database": backend, "scale": scale,
                                         "scale_name": args.scale, "figures": figures,
                                         "wall_s": round(elapsed, 1)})
            for key, fig in figures.items():
                print(f"    {key:<40} {fig['value']:>12} {fig['unit']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2, default=str))
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
