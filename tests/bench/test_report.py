"""The benchmark's arithmetic and report: percentiles, ratios, targets, the markdown page."""

from __future__ import annotations

import math
from typing import Any

from bench.report import markdown, targets
from bench.stats import percentile, ratio, summary_ms

PLAN = {"concurrency": 16, "saturate_seconds": 3.0, "gap": 0.01, "back_to_back_gap": 0.001}


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


def _result(stages: list[dict[str, Any]]) -> dict[str, Any]:
    """A whole run's result around `stages`, as `python -m bench` writes it."""
    startup = {"external": {"n": 3, "p50": 500.0, "max": 600.0}}
    result: dict[str, Any] = {"stages": stages, "memory": stages[-1]["memory"], "startup": startup}
    result.update(
        targets=targets(result),
        command="python -m bench --max 1000000",
        started_at="2026-12-04 17:00 UTC",
        seconds=600.0,
        commit="abc1234",
        redis="valkey-server 8.1.8",
        machine={"description": "2 cores", "load_start": 1.0, "load_end": 2.0},
        plan=PLAN,
    )
    return result


def test_targets_are_checked_at_the_largest_n_against_the_same_run() -> None:
    result = _result([_stage(1_000, 1.0), _stage(1_000_000, 1.1)])
    rows = {row["target"]: row for row in result["targets"]}
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

    page = markdown(result)
    assert "| click: ack p99 | 20.00ms | 15.00ms | **no** |" in page
    assert "## N = 1,000,000 incidents" in page
    assert "python -m bench --max 1000000" in page


def test_the_time_budget_sets_the_bot_beside_the_least_a_redis_command_costs() -> None:
    stage = _stage(1_000, 1.0)
    stage["baselines"]["bolt-inline"] = {"command": _figures(0.6, 1.0)}
    stage["baselines"]["bolt-redis"] = {"command": _figures(0.8, 1.2)}
    stage["redis_hop"] = {"n": 100, "p50": 0.15}
    page = markdown(_result([stage]))
    least = "the same Bolt app, one Redis PING (the bot's client settings) before its ack"
    assert f"| {least} | 0.80 | 2.00 |" in page
    assert "| the target: 3x the floor | 1.20 | 3.00 |" in page
    assert "one Redis PING, then ack, command*" in page
    assert "Back to back" not in page  # measured at the last stage only


def test_back_to_back_figures_are_shown_beside_the_spaced_ones() -> None:
    stage = _stage(1_000, 1.0)
    for figures in [*stage["requests"].values(), *stage["baselines"]["aiohttp"].values()]:
        figures["back_to_back"] = {"ack": {"p50": figures["sequential"]["ack"]["p50"] / 2}}
    for figures in stage["baselines"]["bolt"].values():
        figures["back_to_back"] = {"ack": {"p50": 10.0}}
    page = markdown(_result([stage]))
    assert "## Back to back (1 ms apart), N = 1,000" in page
    assert "| the bot: list | 0.50 | 2.50 | 1.00 | 2.50 |" in page
    assert "| *bare Bolt, defaults, ack only, command* | 10.00 | 50.00 | 11.00 | 27.50 |" in page
