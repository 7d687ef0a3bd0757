"""Relay metrics in the Prometheus text exposition format (no dependency)."""

from __future__ import annotations

import bisect
from collections import Counter

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Histogram:
    """A cumulative-bucket histogram of seconds."""

    def __init__(self, buckets: tuple[float, ...] = _LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        """Record one observation."""
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1


class Metrics:
    """Counters and gauges the relay updates; ``render()`` gives the /metrics body."""

    def __init__(self) -> None:
        self.connections = 0
        self.sessions = 0
        self.teams = 0
        self.envelopes_in = 0
        self.envelopes_dup = 0
        self.envelopes_out = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.commits = 0
        self.presence = 0
        self.client_errors = 0
        self.pull_failures = 0  # failed reads of live deliveries from storage (each retried)
        self.invite_waiters = 0  # guests' awaited invitation answers (set at render)
        self.rejections: Counter[str] = Counter()
        self.ack_latency = Histogram()
        self.commit_latency = Histogram()

    def reject(self, reason: str) -> None:
        """Count one refused request or closed session by error name."""
        self.rejections[reason] += 1

    def render(self) -> str:
        """The Prometheus text format (version 0.0.4)."""
        lines: list[str] = []

        def one(name: str, kind: str, help_: str, value: float) -> None:
            lines.extend([f"# HELP {name} {help_}", f"# TYPE {name} {kind}", f"{name} {value}"])

        one("mano_relay_connections", "gauge", "Open websocket connections.", self.connections)
        one("mano_relay_sessions", "gauge", "Authenticated sessions.", self.sessions)
        one("mano_relay_teams", "gauge", "Teams with at least one session.", self.teams)
        one("mano_relay_envelopes_in_total", "counter", "Envelopes stored.", self.envelopes_in)
        one("mano_relay_envelopes_duplicate_total", "counter", "Re-sent envelopes acked again.",
            self.envelopes_dup)
        one("mano_relay_envelopes_out_total", "counter", "Envelope deliveries to sessions.",
            self.envelopes_out)
        one("mano_relay_bytes_in_total", "counter", "Bytes received in frames.", self.bytes_in)
        one("mano_relay_bytes_out_total", "counter", "Bytes sent in frames.", self.bytes_out)
        one("mano_relay_commits_total", "counter", "Group-commit transactions.", self.commits)
        one("mano_relay_invite_waiters", "gauge", "Invitation answers awaited by connections.",
            self.invite_waiters)
        one("mano_relay_client_errors_total", "counter",
            "Sessions a client ended with an error message.", self.client_errors)
        one("mano_relay_pull_failures_total", "counter",
            "Failed storage reads of live deliveries (retried).", self.pull_failures)
        one("mano_relay_presence_total", "counter", "Presence messages forwarded.", self.presence)
        lines += ["# HELP mano_relay_rejections_total Refused requests and closed sessions.",
                  "# TYPE mano_relay_rejections_total counter"]
        for reason, n in sorted(self.rejections.items()):
            lines.append(f'mano_relay_rejections_total{{reason="{reason}"}} {n}')
        for name, hist, help_ in (
            ("mano_relay_ack_latency_seconds", self.ack_latency, "Push received to ack sent."),
            ("mano_relay_commit_seconds", self.commit_latency, "One group-commit transaction."),
        ):
            lines += [f"# HELP {name} {help_}", f"# TYPE {name} histogram"]
            total = 0
            for bound, n in zip(hist.buckets, hist.counts, strict=False):  # counts: one more (+Inf)
                total += n
                lines.append(f'{name}_bucket{{le="{bound}"}} {total}')
            lines.append(f'{name}_bucket{{le="+Inf"}} {hist.count}')
            lines += [f"{name}_sum {hist.sum}", f"{name}_count {hist.count}"]
        return "\n".join(lines) + "\n"
