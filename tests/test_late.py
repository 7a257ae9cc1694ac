"""The late policy: due dates, extensions, penalties per day or hour, caps and cut-offs."""

from __future__ import annotations

import pytest

from autograder.late import LatePolicy

DUE = "2027-02-05T23:59:00+01:00"


def policy(**settings) -> LatePolicy:
    return LatePolicy.from_settings({"due": {"a1": DUE}, **settings})


def test_per_day_counts_each_day_begun_and_stops_at_the_cap():
    p = policy(penalty="percent_per_day", percent=10, cap=25)
    on_time = p.assess("a1", "s", "2027-02-05T22:59:00+00:00 (timestamp.txt)", 30)
    assert (on_time.hours, on_time.penalty, on_time.reason) == (0.0, 0.0, "")
    one_minute = p.assess("a1", "s", "2027-02-05T23:00:00+00:00 (timestamp.txt)", 30)
    assert one_minute.penalty == pytest.approx(3.0)  # a day begun: 10% of 30
    assert one_minute.hours == pytest.approx(1 / 60)
    two_days = p.assess("a1", "s", "2027-02-07T22:00:00+00:00 (timestamp.txt)", 20)
    assert two_days.penalty == pytest.approx(4.0)  # 47 h: 2 days begun, 20% of 20
    assert two_days.reason.endswith("2 days begun x 10% (cap 25%) = 20% of the points")
    week = p.assess("a1", "s", "2027-02-12T23:00:00+00:00 (timestamp.txt)", 20)
    assert week.penalty == pytest.approx(5.0)  # capped at 25%


def test_per_hour_extensions_cut_off_and_no_penalty():
    p = policy(
        penalty="percent_per_hour",
        percent=2,
        cutoff_hours=48,
        extensions={"a1": {"ext": "2027-02-07T23:59:00+01:00"}},
    )
    late = p.assess("a1", "s", "2027-02-06T01:29:00+00:00 (zip entry)", 10)
    assert late.hours == pytest.approx(2.5) and late.penalty == pytest.approx(0.6)  # 3 h begun
    extended = p.assess("a1", "ext", "2027-02-06T01:30:00+00:00 (zip entry)", 10)
    assert (extended.hours, extended.penalty) == (0.0, 0.0)
    extended_late = p.assess("a1", "ext", "2027-02-07T23:30:00+00:00 (zip entry)", 10)
    assert "(extended)" in extended_late.reason and extended_late.penalty == pytest.approx(0.2)
    past = p.assess("a1", "s", "2027-02-08T00:00:00+00:00 (zip entry)", 10)
    assert past.penalty == 10 and "past the 48 h cut-off" in past.reason
    free = policy(penalty="none").assess("a1", "s", "2027-02-06T01:30:00+00:00 (x)", 10)
    assert (free.penalty, free.reason.endswith("no penalty")) == (0.0, True)
    other = p.assess("a2", "s", "2030-01-01T00:00:00+00:00 (x)", 10)  # no due date
    assert (other.hours, other.penalty, other.reason) == (None, 0.0, "")


def test_a_zip_entry_time_is_read_on_the_downloads_clock():
    p = policy(penalty="percent_per_day", percent=10, download_timezone="Europe/Berlin")
    # 23:30 on a Berlin clock is before the due date of 23:59 (+01:00)
    assert p.assess("a1", "s", "2027-02-05T23:30:00 (zip entry)", 10).penalty == 0
    utc = policy(penalty="percent_per_day", percent=10)  # the same reading taken as UTC: late
    assert utc.assess("a1", "s", "2027-02-05T23:30:00 (zip entry)", 10).penalty == 1
    unknown = p.assess("a1", "s", "", 10)
    assert unknown.penalty == 0 and "no submission time" in unknown.reason


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"due": {"a1": "tomorrow"}}, ValueError, "ISO 8601 time like"),
        ({"due": {"a1": "2027-02-05T23:59:00"}}, ValueError, "needs a time zone"),
        ({"due": {"a1": 5}}, TypeError, "must be an ISO 8601 string, got int 5"),
        ({"penalty": "percent_per_week"}, ValueError, "must be one of"),
        ({"percent": 150}, ValueError, "between 0 and 100, got 150"),
        ({"cap": "50"}, TypeError, "cap must be a number, got '50'"),
        ({"cutoff_hours": -1}, ValueError, "cutoff_hours must be None or hours >= 0, got -1"),
        ({"download_timezone": "Mars/Base"}, ValueError, "got 'Mars/Base'"),
        ({"percnt": 10}, ValueError, "unknown LatePolicy setting"),
    ],
)
def test_mistakes_in_the_policy_are_named(settings, error, message):
    with pytest.raises(error, match=message):
        LatePolicy.from_settings(settings)
