"""Small statistics: medians and percentiles over timings (seconds in, milliseconds out)."""
from __future__ import annotations

import math
import statistics
from typing import Sequence


def median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000.0


def percentile_ms(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of `samples` (seconds), in milliseconds."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1] * 1000.0


def latency_summary(samples: Sequence[float]) -> dict[str, float]:
    return {"count": len(samples), "p50_ms": round(percentile_ms(samples, 50), 2),
            "p95_ms": round(percentile_ms(samples, 95), 2), "p99_ms": round(percentile_ms(samples, 99), 2)}


def ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 2) if denominator else float("nan")
