"""The one definition of Outlay's settings, read from the environment (prefix-free, 12-factor).

Secrets (database passwords inside DATABASE_URL, AWS keys) come from the environment only and are
never logged: `Settings.redacted()` is what logs and `/readyz` may show.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from outlay.tenancy import DEFAULT_TENANT, tenant_problem

DEFAULT_STATE_DIR = Path(".outlay")
MIN_API_KEY_LENGTH = 16


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False, hide_input_in_errors=True)

    # Kafka: unset means "start (or reuse) the embedded broker".
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        alias="KAFKA_BOOTSTRAP_SERVERS",
        description="Kafka brokers, host:port[,host:port]. Unset: start (or reuse) the embedded broker.",
    )
    kafka_client_id: str = Field(
        default="outlay",
        alias="OUTLAY_KAFKA_CLIENT_ID",
        description="Client id Outlay's Kafka clients present to the broker.",
    )
    # Store: unset means a SQLite file in the state directory.
    database_url: str | None = Field(
        default=None,
        alias="DATABASE_URL",
        description="The store: postgresql://... or sqlite://... (may hold a password; logged redacted). Unset: a SQLite file in the state directory.",
    )
    state_dir: Path = Field(
        default=DEFAULT_STATE_DIR,
        alias="OUTLAY_STATE_DIR",
        description="Local state: the SQLite store by default, checkpoints of live sources.",
    )
    # Gateway
    api_host: str = Field(default="127.0.0.1", alias="OUTLAY_API_HOST", description="The gateway's bind address.")
    api_port: int = Field(
        default=8000,
        alias="OUTLAY_API_PORT",
        description="The gateway's HTTP port (REST, GraphQL, WebSocket, /healthz, /readyz, /metrics).",
    )
    # The gateway's API key (a secret: from the environment only, never logged). `outlay run`
    # generates one when unset; without one the gateway listens on loopback addresses only.
    api_key: SecretStr | None = Field(
        default=None,
        alias="OUTLAY_API_KEY",
        description="The gateway's API key (at least 16 characters; from the environment only, never logged). `outlay run` generates one when unset; without one the gateway listens on loopback addresses only.",
    )
    # Rows (buckets x groups) one cost query may answer; a larger query is refused naming what to narrow.
    api_max_cells: int = Field(
        default=50_000,
        ge=100,
        le=1_000_000,
        alias="OUTLAY_API_MAX_CELLS",
        description="Rows (buckets x groups) one cost query may answer; a larger query is refused naming what to narrow.",
    )
    # Cost answers kept until the ledger commits more of their tenant's rows (and at most this many seconds; 0: no
    # cache), in at most this many MiB per gateway process. Only while the gateway follows the ledger's progress.
    api_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        alias="OUTLAY_API_CACHE_SECONDS",
        description="Cost answers are kept until the ledger commits more of their tenant's rows, and at most this many seconds (0: no cache).",
    )
    api_cache_mb: int = Field(
        default=64,
        ge=0,
        le=65536,
        alias="OUTLAY_API_CACHE_MB",
        description="Memory for cached cost answers per gateway process, in MiB.",
    )
    # Requests a minute each API key may make (per gateway process); 0: no limit.
    rate_limit_per_minute: int = Field(
        default=1200,
        ge=0,
        alias="OUTLAY_RATE_LIMIT_PER_MINUTE",
        description="Requests a minute each API key may make, per gateway process (0: no limit).",
    )
    # Webhooks: deliveries to internal addresses (loopback, private, link-local, metadata) only when allowed; tries
    # before a delivery is dead; the first retry's delay (doubling, with jitter); the consumer groups' prefix.
    webhook_allow_private: bool = Field(
        default=False,
        alias="OUTLAY_WEBHOOK_ALLOW_PRIVATE",
        description="Allow webhook deliveries to internal addresses (loopback, private, link-local, metadata).",
    )
    webhook_max_attempts: int = Field(
        default=8,
        ge=1,
        le=30,
        alias="OUTLAY_WEBHOOK_MAX_ATTEMPTS",
        description="Tries before a webhook delivery is dead-lettered.",
    )
    webhook_backoff_s: float = Field(
        default=5.0,
        gt=0,
        alias="OUTLAY_WEBHOOK_BACKOFF_S",
        description="The first webhook retry's delay in seconds (doubling, with jitter).",
    )
    gateway_webhook_group_id: str = Field(
        default="outlay-gateway-webhooks",
        alias="OUTLAY_GATEWAY_WEBHOOK_GROUP",
        description="Consumer group of the gateway's webhook deliveries.",
    )
    # The consumer group that stores anomaly updates for the API (one store write per update).
    gateway_anomaly_group_id: str = Field(
        default="outlay-gateway-anomalies",
        alias="OUTLAY_GATEWAY_ANOMALY_GROUP",
        description="Consumer group that stores anomaly updates for the API.",
    )
    # Asking in plain English (POST /v1/ask, `outlay ask`): an LLM turns questions into the structured query when a
    # provider and its key are set; without them (or when its reply is unusable) the offline parser does.
    llm_provider: Literal["anthropic", "openai"] | None = Field(
        default=None,
        alias="OUTLAY_LLM_PROVIDER",
        description="LLM for `POST /v1/ask`: anthropic (Messages API) or openai (any OpenAI-compatible chat completions API). Unset: the offline parser only.",
    )
    # The provider's key (a secret: from the environment only, never logged).
    llm_api_key: SecretStr | None = Field(
        default=None,
        alias="OUTLAY_LLM_API_KEY",
        description="The LLM provider's API key (from the environment only, never logged). Unset: the offline parser only.",
    )
    llm_base_url: str | None = Field(
        default=None,
        alias="OUTLAY_LLM_BASE_URL",
        description="The LLM API's base URL (unset: https://api.anthropic.com or https://api.openai.com/v1); e.g. a local OpenAI-compatible server.",
    )
    llm_model: str | None = Field(
        default=None,
        alias="OUTLAY_LLM_MODEL",
        description="The LLM model (unset: claude-3-5-haiku-latest or gpt-4o-mini).",
    )
    llm_timeout_s: float = Field(
        default=20.0,
        gt=0,
        le=300,
        alias="OUTLAY_LLM_TIMEOUT_S",
        description="Seconds to wait for the LLM before answering with the offline parser.",
    )
    # AWS: endpoint override for moto / LocalStack; credentials come from boto3's normal chain.
    aws_endpoint_url: str | None = Field(
        default=None,
        alias="AWS_ENDPOINT_URL",
        description="AWS endpoint override (moto, LocalStack). Credentials come from boto3's normal chain.",
    )
    aws_region: str = Field(
        default="us-east-1", alias="AWS_DEFAULT_REGION", description="The AWS region used when none is given."
    )
    # Live metering: comma-separated regions to poll; empty means just aws_region.
    metering_regions: str = Field(
        default="",
        alias="OUTLAY_METERING_REGIONS",
        description="Live metering: comma-separated regions to poll (empty: just AWS_DEFAULT_REGION).",
    )
    # Ledger consumer
    ledger_group_id: str = Field(
        default="outlay-ledger", alias="OUTLAY_LEDGER_GROUP", description="Consumer group of the ledger."
    )
    ledger_batch_size: int = Field(
        default=10000,
        alias="OUTLAY_LEDGER_BATCH",
        description="Usage records the ledger writes to the store per batch (10,000: about 430 MB peak RSS in a "
        "backfill, `make bench-ingest`; 5,000 about 350 MB).",
    )
    allocation_group_id: str = Field(
        default="outlay-allocation",
        alias="OUTLAY_ALLOCATION_GROUP",
        description="Consumer group of the allocation stage (usage → `outlay.usage.allocated.v1`).",
    )
    # Anomaly worker: its consumer group (the faust app id), what it alerts on, and which tags make series.
    anomaly_group_id: str = Field(
        default="outlay-anomaly",
        alias="OUTLAY_ANOMALY_GROUP",
        description="Consumer group (faust app id) of the anomaly worker.",
    )
    anomaly_split_group_id: str = Field(
        default="outlay-anomaly-split",
        alias="OUTLAY_ANOMALY_SPLIT_GROUP",
        description="Consumer group in which the anomaly worker's split stage reads outlay.usage.v1.",
    )
    anomaly_min_impact: Decimal = Field(
        default=Decimal("0"),
        ge=0,
        alias="OUTLAY_ANOMALY_MIN_IMPACT",
        description="Smallest cost impact (in the bill's currency) an anomaly must have to alert.",
    )
    anomaly_min_impact_pct: Decimal = Field(
        default=Decimal("5"),
        ge=0,
        alias="OUTLAY_ANOMALY_MIN_IMPACT_PCT",
        description="Smallest impact, in percent of the expected cost, an anomaly must have to alert.",
    )
    anomaly_sensitivity: Literal["low", "medium", "high"] = Field(
        default="medium", alias="OUTLAY_ANOMALY_SENSITIVITY", description="How readily the anomaly detector alerts."
    )
    # The tag keys whose values make cost series: anomaly series and forecast scopes (team, project, ...).
    series_tag_keys_text: str = Field(
        default="team,project",
        validation_alias=AliasChoices("OUTLAY_SERIES_TAG_KEYS", "OUTLAY_ANOMALY_TAG_KEYS"),
        description="Comma-separated tag keys whose values make cost series: anomaly series and forecast scopes. Also read as OUTLAY_ANOMALY_TAG_KEYS.",
    )
    # Forecast service: reforecasts on this schedule and when billed data lands (at most once per debounce),
    # answers gRPC on this port (the gateway's forecast_grpc_target reaches it).
    forecast_interval_s: float = Field(
        default=3600.0, gt=0, alias="OUTLAY_FORECAST_INTERVAL_S", description="Seconds between scheduled reforecasts."
    )
    forecast_debounce_s: float = Field(
        default=30.0,
        ge=0,
        alias="OUTLAY_FORECAST_DEBOUNCE_S",
        description="Least seconds between reforecasts triggered by newly billed data.",
    )
    forecast_horizon_days: int = Field(
        default=30,
        ge=1,
        le=90,
        alias="OUTLAY_FORECAST_HORIZON_DAYS",
        description="Days ahead the forecast service forecasts.",
    )
    forecast_grpc_host: str = Field(
        default="127.0.0.1", alias="OUTLAY_FORECAST_GRPC_HOST", description="The forecast service's gRPC bind address."
    )  # the bind address
    forecast_grpc_port: int = Field(
        default=50051, alias="OUTLAY_FORECAST_GRPC_PORT", description="The forecast service's gRPC port."
    )
    # Where clients (the gateway) reach it, host:port; unset: this machine on forecast_grpc_port.
    forecast_grpc_target_override: str | None = Field(
        default=None,
        alias="OUTLAY_FORECAST_GRPC_TARGET",
        description="Where clients (the gateway) reach the forecast service, host:port. Unset: 127.0.0.1 on OUTLAY_FORECAST_GRPC_PORT.",
    )
    # Optimizer: regions to scan (comma-separated; empty: no scans, decisions on stored plans still run), how
    # often, whether plans policy lets run unapproved are applied (a tenant's choice, off by default), the tag
    # that marks production, and the rollout's canary and batch sizes.
    optimizer_regions_text: str = Field(
        default="",
        alias="OUTLAY_OPTIMIZER_REGIONS",
        description="Comma-separated regions the optimizer scans (empty: no scans; decisions on stored plans still run).",
    )
    optimizer_interval_s: float = Field(
        default=21600.0, gt=0, alias="OUTLAY_OPTIMIZER_INTERVAL_S", description="Seconds between optimizer scans."
    )
    optimizer_auto_apply: bool = Field(
        default=False,
        alias="OUTLAY_OPTIMIZER_AUTO_APPLY",
        description="Apply plans that policy lets run unapproved (a tenant's choice, off by default).",
    )
    optimizer_env_tag: str = Field(
        default="env",
        min_length=1,
        alias="OUTLAY_OPTIMIZER_ENV_TAG",
        description="The tag key that marks production resources.",
    )
    optimizer_canary: int = Field(
        default=1,
        ge=1,
        alias="OUTLAY_OPTIMIZER_CANARY",
        description="Resources changed first (the canary) in a plan's rollout.",
    )
    optimizer_batch: int = Field(
        default=5, ge=1, alias="OUTLAY_OPTIMIZER_BATCH", description="Resources changed per batch after the canary."
    )
    optimizer_group_id: str = Field(
        default="outlay-optimizer", alias="OUTLAY_OPTIMIZER_GROUP", description="Consumer group of the optimizer."
    )
    # A proposed plan nobody decided on within this many days expires (a later scan proposes it anew).
    optimizer_approval_days: float = Field(
        default=7.0,
        gt=0,
        alias="OUTLAY_OPTIMIZER_APPROVAL_DAYS",
        description="Days after which a proposed plan nobody decided on expires.",
    )
    # The tenant whose AWS accounts this optimizer scans: its plans, recommendations and audit entries are that
    # tenant's, and decisions of other tenants are ignored (one optimizer deployment per tenant).
    optimizer_tenant: str = Field(
        default=DEFAULT_TENANT,
        alias="OUTLAY_OPTIMIZER_TENANT",
        description="The tenant whose AWS accounts this optimizer scans (one optimizer deployment per tenant).",
    )
    # The tenant live sources (the demo generator, live metering) stamp on every record and sample they produce.
    live_tenant: str = Field(
        default=DEFAULT_TENANT,
        alias="OUTLAY_TENANT",
        description="The tenant live sources (demo generator, live metering) stamp on every record they produce.",
    )
    # Consumer groups. The embedded broker holds a first join for about half the session timeout,
    # so the default is shorter than Kafka's 45 s; production may raise it.
    kafka_session_timeout_ms: int = Field(
        default=6000,
        alias="OUTLAY_KAFKA_SESSION_TIMEOUT_MS",
        description="Consumer-group session timeout in ms (short for the embedded broker; production may raise it).",
    )
    # Topic layout: partitions for every topic Outlay creates.
    topic_partitions: int = Field(
        default=4, alias="OUTLAY_TOPIC_PARTITIONS", description="Partitions of every topic Outlay creates."
    )
    topic_replication: int = Field(
        default=1, alias="OUTLAY_TOPIC_REPLICATION", description="Replication factor of every topic Outlay creates."
    )
    # Telemetry: one log line per record on stderr, as text or JSON; Prometheus metrics of the ledger and
    # live-source processes on this port (unset: no metrics server; the gateway serves /metrics itself).
    log_level: str = Field(
        default="INFO", alias="OUTLAY_LOG_LEVEL", description="Log level (DEBUG, INFO, WARNING, ERROR)."
    )
    log_format: Literal["text", "json"] = Field(
        default="text", alias="OUTLAY_LOG_FORMAT", description="Log lines on stderr as text or JSON."
    )
    metrics_port: int | None = Field(
        default=None,
        alias="OUTLAY_METRICS_PORT",
        description="Port of the Prometheus metrics server of non-gateway services (unset: none; the gateway serves /metrics itself).",
    )

    @field_validator("api_key")
    @classmethod
    def _strong_api_key(cls, value: SecretStr | None) -> SecretStr | None:
        # A blank key must never mean "no auth": an empty secret in a deployment fails closed, here.
        if value is not None and len(value.get_secret_value().strip()) < MIN_API_KEY_LENGTH:
            raise ValueError(
                f"OUTLAY_API_KEY must be at least {MIN_API_KEY_LENGTH} characters (got a shorter or blank one)"
            )
        return value

    @field_validator("optimizer_tenant", "live_tenant")
    @classmethod
    def _valid_tenant(cls, value: str, info: ValidationInfo) -> str:
        problem = tenant_problem(value)
        if problem is not None:
            variable = cls.model_fields[info.field_name or ""].alias
            raise ValueError(f"{variable}: {problem}")
        return value

    @property
    def forecast_grpc_target(self) -> str:
        return self.forecast_grpc_target_override or f"127.0.0.1:{self.forecast_grpc_port}"

    @property
    def optimizer_regions(self) -> tuple[str, ...]:
        return tuple(r.strip() for r in self.optimizer_regions_text.split(",") if r.strip())

    @property
    def series_tag_keys(self) -> tuple[str, ...]:
        return tuple(k.strip() for k in self.series_tag_keys_text.split(",") if k.strip())

    @property
    def store_url(self) -> str:
        """The SQLAlchemy async URL of the store (SQLite file by default)."""
        if self.database_url:
            return to_async_url(self.database_url)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{(self.state_dir / 'outlay.db').resolve()}"

    def redacted(self) -> dict[str, object]:
        """Settings safe to log: passwords in URLs are masked."""
        data = self.model_dump()  # SecretStr fields dump as '**********'
        if self.database_url:
            data["database_url"] = redact_url(self.database_url)
        return data


def to_async_url(url: str) -> str:
    """Accept the usual `postgresql://` / `sqlite://` forms and pick the async driver."""
    for prefix, driver in (
        ("postgresql+asyncpg://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite+aiosqlite://", "sqlite+aiosqlite://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(prefix):
            return driver + url[len(prefix) :]
    raise ValueError(f"DATABASE_URL: unsupported scheme in {redact_url(url)!r} (use postgresql:// or sqlite://)")


def redact_url(url: str) -> str:
    """The URL with any password masked: in the userinfo part and in `password=` query parameters."""
    url = re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", url)
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
