import pytest

from shared.config import ConfigurationError, load_settings


def test_production_refuses_to_start_without_secrets(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load_settings()


def test_production_needs_each_database_url(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.delenv("NOTIFY_DATABASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="NOTIFY_DATABASE_URL"):
        load_settings()


def test_smtp_is_used_only_when_named(monkeypatch):
    monkeypatch.delenv("SMTP_HOST", raising=False)
    assert load_settings().smtp is None
    monkeypatch.setenv("SMTP_HOST", "mail.example")
    monkeypatch.setenv("SMTP_PORT", "2525")
    monkeypatch.setenv("SMTP_STARTTLS", "yes")
    smtp = load_settings().smtp
    assert smtp is not None
    assert (smtp.host, smtp.port, smtp.starttls) == ("mail.example", 2525, True)


def test_bad_values_say_what_is_wrong(monkeypatch):
    monkeypatch.setenv("AGENCY_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigurationError, match="AGENCY_TIMEZONE"):
        load_settings()
    monkeypatch.setenv("AGENCY_TIMEZONE", "America/Detroit")
    monkeypatch.setenv("SMTP_HOST", "mail.example")
    monkeypatch.setenv("SMTP_PORT", "twenty-five")
    with pytest.raises(ConfigurationError, match="SMTP_PORT"):
        load_settings()


def test_smtp_time_out_comes_from_the_environment_and_is_checked(monkeypatch):
    monkeypatch.setenv("SMTP_HOST", "mail.agency.example")
    assert load_settings().smtp.timeout == 10.0
    monkeypatch.setenv("SMTP_TIMEOUT", "4")
    assert load_settings().smtp.timeout == 4.0
    monkeypatch.setenv("SMTP_TIMEOUT", "soon")
    with pytest.raises(ConfigurationError, match="SMTP_TIMEOUT must be a number of seconds"):
        load_settings()
