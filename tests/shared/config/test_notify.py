from datetime import timedelta

import pytest

from shared.config import (
    DEFAULT_RETRY_SCHEDULE,
    ConfigurationError,
    DeliverySettings,
    duration,
    durations,
    load_settings,
)

pytestmark = pytest.mark.unit


def load_delivery_settings() -> DeliverySettings:
    return load_settings().delivery


@pytest.fixture(autouse=True)
def no_smtp(monkeypatch):
    for variable in ("SMTP_HOST", "NOTIFY_RETRY_SCHEDULE", "NOTIFY_SENDING_LEASE_SECONDS"):
        monkeypatch.delenv(variable, raising=False)


def test_durations_take_seconds_minutes_hours_and_days():
    parsed = [duration(raw) for raw in ("30s", "5m", " 2H ", "1d")]
    assert parsed == [
        timedelta(seconds=30),
        timedelta(minutes=5),
        timedelta(hours=2),
        timedelta(days=1),
    ]


def test_the_default_schedule_spans_just_over_a_day_in_thirteen_attempts():
    settings = load_delivery_settings()
    assert settings.retry_schedule == durations(DEFAULT_RETRY_SCHEDULE)
    assert settings.max_attempts == 13
    assert sum(settings.retry_schedule, timedelta()) == timedelta(hours=24, minutes=8, seconds=30)
    assert settings.retry_schedule[:3] == (
        timedelta(seconds=30),
        timedelta(minutes=1),
        timedelta(minutes=2),
    )
    assert settings.sending_lease == timedelta(seconds=120)


def test_the_schedule_and_lease_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("NOTIFY_RETRY_SCHEDULE", "10s, 1m,1m,1d")
    monkeypatch.setenv("NOTIFY_SENDING_LEASE_SECONDS", "300")
    settings = load_delivery_settings()
    assert settings.retry_schedule == (
        timedelta(seconds=10),
        timedelta(minutes=1),
        timedelta(minutes=1),
        timedelta(days=1),
    )
    assert (settings.max_attempts, settings.sending_lease) == (5, timedelta(seconds=300))


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ("30", "'30' is not a duration"),
        ("5x", "'5x' is not a duration"),
        ("0s", "'0s' is not a duration"),
        ("-5m", "'-5m' is not a duration"),
        ("1m,,5m", "'' is not a duration"),
        ("1h,5m", "must not shrink: 0:05:00 comes after 1:00:00"),
    ],
)
def test_a_bad_schedule_is_refused_loudly(monkeypatch, raw, complaint):
    monkeypatch.setenv("NOTIFY_RETRY_SCHEDULE", raw)
    with pytest.raises(ConfigurationError, match="NOTIFY_RETRY_SCHEDULE") as refused:
        load_delivery_settings()
    assert complaint in str(refused.value)


def test_an_empty_schedule_is_refused():
    with pytest.raises(ValueError, match="at least one duration"):
        durations(" ")


def test_a_bad_lease_is_refused(monkeypatch):
    monkeypatch.setenv("NOTIFY_SENDING_LEASE_SECONDS", "two minutes")
    with pytest.raises(ConfigurationError, match="NOTIFY_SENDING_LEASE_SECONDS"):
        load_delivery_settings()


def test_the_lease_must_outlast_the_smtp_time_outs(monkeypatch):
    monkeypatch.setenv("SMTP_HOST", "mail.example")
    monkeypatch.setenv("NOTIFY_SENDING_LEASE_SECONDS", "60")
    with pytest.raises(ConfigurationError, match="at least 80, not 60"):
        load_delivery_settings()
    monkeypatch.setenv("NOTIFY_SENDING_LEASE_SECONDS", "80")
    assert load_delivery_settings().sending_lease == timedelta(seconds=80)
