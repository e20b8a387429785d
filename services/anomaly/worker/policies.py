"""The worker's edge to the store: every tenant's `anomaly_impact` policies, read at start and then periodically,
as the `TenantThresholds` the series monitors alert by (`series/thresholds.py` decides; this only loads).

Nothing here runs per record: the monitor reads `current`, which a refresh replaces whole. A refresh that fails
(store down, no schema yet) keeps the last good thresholds (at start: the deployment's for every tenant) and is
logged once until a refresh succeeds again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.policies import PolicyKind
from outlay.store.policies import Policy, enabled_policies
from services.anomaly.detection.incidents import IncidentSettings
from services.anomaly.series.thresholds import DEFAULT_ALERT_LEVEL, TenantThresholds

log = logging.getLogger(__name__)

REFRESH_EVERY = timedelta(seconds=60)
REFRESH_TIMEOUT = timedelta(seconds=10)  # a store that does not answer in time counts as a failed refresh

PolicyLoader = Callable[[], Awaitable[Mapping[str, Iterable[Policy]]]]


def store_loader(engine: AsyncEngine) -> PolicyLoader:
    """Every tenant's enabled `anomaly_impact` policies, from the store behind `engine`."""

    async def load() -> Mapping[str, Iterable[Policy]]:
        return await enabled_policies(engine, PolicyKind.ANOMALY_IMPACT)

    return load


class ThresholdRefresher:
    """Holds the thresholds the worker alerts by (`current`) and refreshes them from `load` (None: no store, the
    deployment's thresholds for every tenant)."""

    def __init__(
        self,
        default: IncidentSettings,
        load: PolicyLoader | None,
        timeout: timedelta = REFRESH_TIMEOUT,
        alert_level: float = DEFAULT_ALERT_LEVEL,
    ) -> None:
        self.current = TenantThresholds(default, alert_level=alert_level)
        self._default = default
        self._alert_level = alert_level
        self._load = load
        self._timeout = timeout.total_seconds()
        self._lock = asyncio.Lock()
        self._attempted = False
        self._failing = False

    async def refresh(self) -> bool:
        """Read the policies again and replace `current`; False (and `current` kept) when that failed."""
        async with self._lock:
            self._attempted = True
            if self._load is None:
                return True
            try:
                policies = await asyncio.wait_for(self._load(), self._timeout)
                fresh = TenantThresholds.from_policies(self._default, policies, self._alert_level)
            except Exception as exc:  # any failure of the store: keep alerting by the last good thresholds
                if not self._failing:
                    log.warning(
                        "anomaly_impact policies not read (%s: %s); alerting by the last thresholds read "
                        "(deployment-wide for tenants without one) until a refresh succeeds",
                        type(exc).__name__,
                        (str(exc).splitlines() or [""])[0],  # SQLAlchemy's go on with the statement
                    )
                self._failing = True
                return False
            if self._failing:
                log.info("anomaly_impact policies read again")
                self._failing = False
            if fresh.by_tenant != self.current.by_tenant:
                shown = ", ".join(f"{t}: {rule}" for t, rule in sorted(fresh.by_tenant.items())) or "none"
                log.info("per-tenant anomaly alerting (anomaly_impact policies): %s", shown)
            self.current = fresh
            return True

    async def start(self) -> None:
        """The first refresh, unless one was already tried: what the monitor awaits before its first message."""
        if not self._attempted:
            await self.refresh()
