"""The benchmark's arithmetic and report: percentiles, ratios, targets, the markdown page."""

from __future__ import annotations

import math
from typing import Any

from bench.report import markdown, targets
from bench.stats import percentile, ratio, summary_ms


def test_percentiles_are_observed_values_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))
    assert summary_ms([0.002, 0.001, 0.003])["p50"] == 2.0
    assert summary_ms([]) == {"n": 0}
    assert ratio(3.0, 1.5) == 2.0
    assert ratio(1.0, 0.0) is None
    assert ratio(None, 1.0) is None


def _figures(p50: float, p99: float, seen: float | None = None, shape: str = "command") -> Any:
    seq = {
        "ack": {"n": 100, "p50": p50, "p95": p99, "p99": p99, "max": p99, "mean": p50},
        "seen": {"n": 100, "p50": seen or p50, "p99": seen or p99},
        "errors": 0,
    }
    sat = {"rps": 1000.0, "ack": {"p50": 5.0, "p99": 9.0}, "errors": 0, "client_cores": 0.5}
    return {"shape": shape, "sequential": seq, "saturated": sat}


def _stage(n: int, scale: float) -> dict[str, Any]:
    requests = {
        name: _figures(1.0 * scale, 2.0, 3.0 if name == "open" else None)
        for name in ("open", "list", "list, deep page", "show", "GET /metrics")
    }
    requests["click"] = _figures(1.0, 20.0, 12.0, "click")  # p99 and "sees" over the bar
    for name, figures in requests.items():
        trips = 2.0 if name == "open" else 1.0
        figures["round_trips"] = {
            "per_request": trips,
            "after_ack": trips - 1,
            "request_path": 1.0,
            "commands": "EVALSHA",
        }
    baseline = {"command": _figures(0.4, 1.0), "click": _figures(0.5, 1.0, shape="click")}
    return {
        "n": n,
        "requests": requests,
        "baselines": {"aiohttp": baseline, "bolt": {k: _figures(11.0, 12.0) for k in baseline}},
        "seed": {"added": n, "seconds": 1.0, "rate": float(n), "notes": 0},
        "memory": {
            "per_incident_bytes": 800.0,
            "per_note_bytes": 150.0,
            "hash_bytes": 300.0,
            "timeline_bytes": 200.0,
            "index_bytes_per_incident": 250.0,
        },
    }


def test_targets_are_checked_at_the_largest_n_against_the_same_run() -> None:
    result: dict[str, Any] = {"stages": [_stage(1_000, 1.0), _stage(1_000_000, 1.1)]}
    result["memory"] = result["stages"][-1]["memory"]
    result["startup"] = {"external": {"n": 3, "p50": 500.0, "max": 600.0}}
    rows = {row["target"]: row for row in targets(result)}
    assert rows["list: ack p50 / bare aiohttp p50"]["figure"] == 1.1 / 0.4
    assert rows["list: ack p50 / bare aiohttp p50"]["met"] is True
    assert rows["click: ack p50 / bare aiohttp p50"]["figure"] == 1.0 / 0.5
    assert rows["click: ack p99"]["met"] is False
    assert rows["click: user sees the answer, p50"]["met"] is False
    assert rows["list: p50 at 1,000,000 / p50 at 1,000"]["figure"] == 1.1
    assert rows["list: p50 at 1,000,000 / p50 at 1,000"]["met"] is True
    assert rows["open: Redis round trips before the ack"]["met"] is True
    assert rows["Redis memory per incident (no notes)"]["met"] is True
    assert rows["ready after start, external Redis (p50)"]["figure"] == 0.5

    result["targets"] = targets(result)
    result.update(
        command="python -m bench --max 1000000",
        started_at="2026-12-04 17:00 UTC",
        seconds=600.0,
        commit="abc1234",
        redis="valkey-server 8.1.8",
        machine={"description": "2 cores", "load_start": 1.0, "load_end": 2.0},
        plan={"concurrency": 16, "saturate_seconds": 3.0},
    )
    page = markdown(result)
    assert "| click: ack p99 | 20.00ms | 15.00ms | **no** |" in page
    assert "## N = 1,000,000 incidents" in page
    assert "python -m bench --max 1000000" in page
