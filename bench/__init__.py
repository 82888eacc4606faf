"""o2o benchmarks: ``make bench`` (``python -m bench``).

Each module in bench/workloads/ defines ``run(ctx) -> dict`` returning its figures as
``{"figure_name": {"value": number, "unit": "ms" | "per_s" | "s" | ...}, ...}`` and may
define ``SCALES = {"small": {...}, "full": {...}}`` with its own knobs (read them from
``ctx.scale``). Results go to bench/results/latest.json: per workload its figures, the
database and the scale. These are benchmarks, not tests: nothing here asserts a time.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Context:
    backend: str                 # "sqlite" | "postgresql"
    database_url: str            # a fresh, migrated database for this workload
    scale_name: str
    scale: dict = field(default_factory=dict)
    workdir: str = "/tmp"

    def make_app(self, addons=None, **config):
        """An app on this workload's database (no test transaction: commits are real)."""
        from core.app import create_app
        from core.testing import BUILTIN_ADDONS, app_config
        return create_app(app_config(self.database_url, TESTING=False, **config),
                          addons=BUILTIN_ADDONS if addons is None else addons)


def timed(fn, repeat: int, warmup: int = 1) -> list[float]:
    """Call fn() repeat times (after warmup calls); returns the seconds of each call."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def latency_figures(prefix: str, samples: list[float]) -> dict:
    """median and p95 in ms, plus the rate per second the median implies."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    median = statistics.median(ordered)
    return {
        f"{prefix}_median_ms": {"value": round(median * 1000, 3), "unit": "ms"},
        f"{prefix}_p95_ms": {"value": round(p95 * 1000, 3), "unit": "ms"},
        f"{prefix}_per_s": {"value": round(len(samples) / sum(samples), 1), "unit": "per_s"},
    }
