"""Settings: every environment variable (and `.env`) in one place, checked once at start-up."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.access import AccessPolicy
from bot.domain.incident import ACTOR_MAX, Severity

Mode = Literal["socket", "http"]
API_TOKEN_MIN = 16
DEFAULT_ALERT_SEVERITIES = "critical=sev1,error=sev2,warning=sev3,info=sev4"


def parse_severity_map(text: str) -> dict[str, Severity]:
    """`critical=sev1,warning=sev3` -> {"critical": Severity.SEV1, ...}; labels lower-cased."""
    mapping: dict[str, Severity] = {}
    for part in filter(str.strip, text.split(",")):
        label, _, value = part.partition("=")
        if not label.strip() or value.strip().lower() not in set(Severity):
            raise ValueError(
                f"`{part.strip()[:40]}` is not label=sev1..sev4; use e.g. critical=sev1,info=sev4"
            )
        mapping[label.strip().lower()] = Severity(value.strip().lower())
    return mapping


def _severity_map(value: object) -> object:
    return parse_severity_map(value) if isinstance(value, str) else value


# NoDecode: the variable is `a=b,c=d` text, not the JSON pydantic-settings expects for a dict.
SeverityMap = Annotated[dict[str, Severity], NoDecode, BeforeValidator(_severity_map)]


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


class ConfigError(Exception):
    """A missing or malformed setting; the message names the variable and never its value."""


class Settings(BaseSettings):
    # An empty variable (PORT= in .env) means "the default", as operators expect.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_mode: Mode | None = None
    slack_api_url: str = "https://slack.com/api/"
    host: str = "0.0.0.0"
    port: Annotated[int, Field(ge=1, le=65535)] = 3000
    metrics_port: Annotated[int, Field(ge=1, le=65535)] = 9100
    redis_url: SecretStr | None = None
    redis_server_bin: str | None = None
    data_dir: Path = Path("./data")
    redis_prefix: Annotated[str, Field(min_length=1, max_length=64)] = "{incidentwatch}:"
    incident_channel: str | None = None
    allowed_channels: str | None = None
    sev1_responders: str | None = None
    api_token: SecretStr | None = None
    api_token_name: Annotated[str, Field(pattern=r"^[\w.@-]+$", max_length=ACTOR_MAX)] = "api"
    api_max_body_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 256 * 1024
    alert_auto_resolve: bool = True
    alert_severity_map: SeverityMap = Field(
        default_factory=lambda: parse_severity_map(DEFAULT_ALERT_SEVERITIES)
    )
    # How long an Alertmanager group stays linked to its incident after its last notification.
    alert_link_ttl_seconds: Annotated[int, Field(ge=60)] = 30 * 24 * 3600
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
    ] = "INFO"

    @field_validator("api_token")
    @classmethod
    def _long_enough(cls, token: SecretStr | None) -> SecretStr | None:
        if token is None or not token.get_secret_value().strip():
            return None
        if len(token.get_secret_value()) < API_TOKEN_MIN:
            raise ValueError(
                f"must be at least {API_TOKEN_MIN} characters (e.g. `openssl rand -hex 32`)"
            )
        return token

    @model_validator(mode="after")
    def _default_mode(self) -> Settings:
        if self.slack_mode is None:
            self.slack_mode = "socket" if self.slack_app_token else "http"
        return self

    def slack_problem(self) -> str | None:
        """What is missing to talk to Slack in the chosen mode (None when all is there)."""
        if not _given(self.slack_bot_token):
            return "SLACK_BOT_TOKEN is required (the bot token, xoxb-…; see README Quick start)"
        if self.mode == "socket" and not _given(self.slack_app_token):
            return "SLACK_APP_TOKEN is required in Socket Mode (an app-level token, xapp-…)"
        if self.mode == "http" and not _given(self.slack_signing_secret):
            return (
                "SLACK_SIGNING_SECRET is required in HTTP mode (Basic Information > Signing Secret)"
            )
        return None

    @property
    def mode(self) -> Mode:
        return self.slack_mode or "http"

    @property
    def policy(self) -> AccessPolicy:
        return AccessPolicy(_id_set(self.allowed_channels), _id_set(self.sev1_responders))

    def secret(self, name: Literal["bot", "app", "signing", "api"]) -> str:
        value = {
            "bot": self.slack_bot_token,
            "app": self.slack_app_token,
            "signing": self.slack_signing_secret,
            "api": self.api_token,
        }[name]
        return value.get_secret_value() if value is not None else ""


def _id_set(text: str | None) -> frozenset[str] | None:
    return frozenset(part.strip() for part in text.split(",") if part.strip()) if text else None


def _given(value: SecretStr | None) -> bool:
    return value is not None and bool(value.get_secret_value().strip())


def load_settings(require_slack: bool = True) -> Settings:
    """Read the environment; raise ConfigError with one line naming the variable (no values)."""
    try:
        settings = Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        variable = "_".join(str(part) for part in error["loc"]).upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{variable}: {message}" if variable else message) from None
    problem = settings.slack_problem() if require_slack else None
    if problem:
        raise ConfigError(problem)
    return settings


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Their DEBUG lines include request bodies; keep them out unless asked for explicitly.
    for noisy in ("slack_sdk", "slack_bolt", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.INFO))
