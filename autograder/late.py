"""Due dates, extensions and the late penalty, from the course configuration.

In ``nbgrader_config.py``::

    c.LatePolicy.due = {"a1_unfolding": "2027-02-05T23:59:00+01:00"}
    c.LatePolicy.extensions = {"a1_unfolding": {"jsmith": "2027-02-08T23:59:00+01:00"}}
    c.LatePolicy.penalty = "percent_per_day"  # "none", "percent_per_day" or "percent_per_hour"
    c.LatePolicy.percent = 10  # of the points the submission earned, per day (or hour) begun
    c.LatePolicy.cap = 50  # at most this many percent in all
    c.LatePolicy.cutoff_hours = 168  # later than this after the due date: zero (None: never)
    c.LatePolicy.download_timezone = "Europe/Berlin"  # zip entry times are this clock's

The penalty is computed from the row's recorded submission time each time
the grades are written, never stored as a score: a regrade, a changed
policy or a new extension give every row the penalty the policy gives now.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PENALTIES = ("none", "percent_per_day", "percent_per_hour")


def _when(text, what: str) -> datetime:
    if isinstance(text, datetime):
        value = text
    elif isinstance(text, str):
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{what} must be an ISO 8601 time like 2027-02-05T23:59:00+01:00, got {text!r}"
            ) from None
    else:
        raise TypeError(f"{what} must be an ISO 8601 string, got {type(text).__name__} {text!r}")
    if value.tzinfo is None:
        raise ValueError(f"{what} needs a time zone (for example +00:00), got {text!r}")
    return value


@dataclass(frozen=True)
class LatePolicy:
    due: dict = field(default_factory=dict)  # assignment -> aware datetime
    extensions: dict = field(default_factory=dict)  # assignment -> {student: aware datetime}
    penalty: str = "none"
    percent: float = 0.0
    cap: float = 100.0
    cutoff_hours: float | None = None
    download_timezone: str = "UTC"

    @classmethod
    def from_settings(cls, settings) -> LatePolicy:
        """Check and convert the ``c.LatePolicy`` settings (a mapping)."""
        known = {f for f in cls.__dataclass_fields__}
        if unknown := sorted(set(settings) - known):
            raise ValueError(
                f"unknown LatePolicy setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        s = dict(settings)
        due = {a: _when(t, f"LatePolicy.due[{a!r}]") for a, t in dict(s.get("due", {})).items()}
        extensions = {
            a: {st: _when(t, f"LatePolicy.extensions[{a!r}][{st!r}]") for st, t in dict(e).items()}
            for a, e in dict(s.get("extensions", {})).items()
        }
        penalty = s.get("penalty", "none")
        if penalty not in PENALTIES:
            raise ValueError(f"LatePolicy.penalty must be one of {PENALTIES}, got {penalty!r}")
        numbers = {}
        for name, default in (("percent", 0.0), ("cap", 100.0)):
            value = s.get(name, default)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"LatePolicy.{name} must be a number, got {value!r}")
            if not 0 <= value <= 100:
                raise ValueError(f"LatePolicy.{name} must be between 0 and 100, got {value!r}")
            numbers[name] = float(value)
        cutoff = s.get("cutoff_hours")
        if cutoff is not None and (
            isinstance(cutoff, bool) or not isinstance(cutoff, int | float) or cutoff < 0
        ):
            raise ValueError(f"LatePolicy.cutoff_hours must be None or hours >= 0, got {cutoff!r}")
        zone = s.get("download_timezone", "UTC")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(
                f"LatePolicy.download_timezone must be a time zone name like 'Europe/Berlin', "
                f"got {zone!r}"
            ) from None
        return cls(due, extensions, penalty, cutoff_hours=cutoff, download_timezone=zone, **numbers)

    def due_for(self, assignment: str, student: str) -> datetime | None:
        return self.extensions.get(assignment, {}).get(student) or self.due.get(assignment)

    def submitted_at(self, recorded: str) -> datetime | None:
        """The time in a row's ``submitted`` field ("<ISO time> (<source>)"), made aware."""
        if not recorded:
            return None
        when = datetime.fromisoformat(recorded.split(" (")[0])
        return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(self.download_timezone))

    def assess(self, assignment: str, student: str, submitted: str, points: float) -> Lateness:
        """The penalty, in points, for a submission that earned ``points``."""
        due = self.due_for(assignment, student)
        if due is None:
            return Lateness(None, 0.0, "")
        when = self.submitted_at(submitted)
        if when is None:
            return Lateness(None, 0.0, "due date set, but the download gives no submission time")
        hours = (when - due).total_seconds() / 3600
        if hours <= 0:
            return Lateness(0.0, 0.0, "")
        extended = " (extended)" if student in self.extensions.get(assignment, {}) else ""
        said = f"{hours:.1f} h after the due date {due.isoformat()}{extended}"
        if self.cutoff_hours is not None and hours > self.cutoff_hours:
            return Lateness(hours, points, f"{said}: past the {self.cutoff_hours:g} h cut-off")
        if self.penalty == "none":
            return Lateness(hours, 0.0, f"{said}: no penalty")
        units = math.ceil(hours / 24) if self.penalty == "percent_per_day" else math.ceil(hours)
        unit = "day" if self.penalty == "percent_per_day" else "hour"
        percent = min(self.cap, self.percent * units)
        return Lateness(
            hours,
            points * percent / 100,
            f"{said}: {units} {unit}{'s' * (units != 1)} begun x {self.percent:g}% "
            f"(cap {self.cap:g}%) = {percent:g}% of the points",
        )


@dataclass(frozen=True)
class Lateness:
    hours: float | None  # after the due date (None: unknown or no due date)
    penalty: float  # points taken off
    reason: str


def course_policy(config) -> LatePolicy:
    """The course's policy from its loaded nbgrader configuration."""
    settings = config.LatePolicy if "LatePolicy" in config else {}
    return LatePolicy.from_settings({k: v for k, v in settings.items()})
