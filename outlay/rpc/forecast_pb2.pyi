from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ForecastRequest(_message.Message):
    __slots__ = ("scope", "horizon_days", "currency", "tenant_id")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    HORIZON_DAYS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    scope: str
    horizon_days: int
    currency: str
    tenant_id: str
    def __init__(self, scope: _Optional[str] = ..., horizon_days: _Optional[int] = ..., currency: _Optional[str] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class ForecastBatchRequest(_message.Message):
    __slots__ = ("scopes", "horizon_days", "tenant_id")
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    HORIZON_DAYS_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    scopes: _containers.RepeatedScalarFieldContainer[str]
    horizon_days: int
    tenant_id: str
    def __init__(self, scopes: _Optional[_Iterable[str]] = ..., horizon_days: _Optional[int] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class ForecastBatchResponse(_message.Message):
    __slots__ = ("forecasts",)
    FORECASTS_FIELD_NUMBER: _ClassVar[int]
    forecasts: _containers.RepeatedCompositeFieldContainer[ScopeForecast]
    def __init__(self, forecasts: _Optional[_Iterable[_Union[ScopeForecast, _Mapping]]] = ...) -> None: ...

class Interval(_message.Message):
    __slots__ = ("lower80", "upper80", "lower95", "upper95")
    LOWER80_FIELD_NUMBER: _ClassVar[int]
    UPPER80_FIELD_NUMBER: _ClassVar[int]
    LOWER95_FIELD_NUMBER: _ClassVar[int]
    UPPER95_FIELD_NUMBER: _ClassVar[int]
    lower80: str
    upper80: str
    lower95: str
    upper95: str
    def __init__(self, lower80: _Optional[str] = ..., upper80: _Optional[str] = ..., lower95: _Optional[str] = ..., upper95: _Optional[str] = ...) -> None: ...

class ForecastDay(_message.Message):
    __slots__ = ("day", "expected", "interval")
    DAY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    day: str
    expected: str
    interval: Interval
    def __init__(self, day: _Optional[str] = ..., expected: _Optional[str] = ..., interval: _Optional[_Union[Interval, _Mapping]] = ...) -> None: ...

class ForecastHour(_message.Message):
    __slots__ = ("hour", "expected", "interval")
    HOUR_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    hour: str
    expected: str
    interval: Interval
    def __init__(self, hour: _Optional[str] = ..., expected: _Optional[str] = ..., interval: _Optional[_Union[Interval, _Mapping]] = ...) -> None: ...

class PeriodTotal(_message.Message):
    __slots__ = ("first_day", "last_day", "actual_to_date", "expected", "interval")
    FIRST_DAY_FIELD_NUMBER: _ClassVar[int]
    LAST_DAY_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_TO_DATE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    first_day: str
    last_day: str
    actual_to_date: str
    expected: str
    interval: Interval
    def __init__(self, first_day: _Optional[str] = ..., last_day: _Optional[str] = ..., actual_to_date: _Optional[str] = ..., expected: _Optional[str] = ..., interval: _Optional[_Union[Interval, _Mapping]] = ...) -> None: ...

class ScopeForecast(_message.Message):
    __slots__ = ("forecast_id", "scope", "dimensions", "currency", "basis", "history_start", "history_end", "generated_at", "model", "short_history", "days", "next_30_days", "month_end", "hours", "tenant_id")
    class DimensionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FORECAST_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_START_FIELD_NUMBER: _ClassVar[int]
    HISTORY_END_FIELD_NUMBER: _ClassVar[int]
    GENERATED_AT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SHORT_HISTORY_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    NEXT_30_DAYS_FIELD_NUMBER: _ClassVar[int]
    MONTH_END_FIELD_NUMBER: _ClassVar[int]
    HOURS_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    forecast_id: str
    scope: str
    dimensions: _containers.ScalarMap[str, str]
    currency: str
    basis: str
    history_start: str
    history_end: str
    generated_at: str
    model: str
    short_history: bool
    days: _containers.RepeatedCompositeFieldContainer[ForecastDay]
    next_30_days: PeriodTotal
    month_end: PeriodTotal
    hours: _containers.RepeatedCompositeFieldContainer[ForecastHour]
    tenant_id: str
    def __init__(self, forecast_id: _Optional[str] = ..., scope: _Optional[str] = ..., dimensions: _Optional[_Mapping[str, str]] = ..., currency: _Optional[str] = ..., basis: _Optional[str] = ..., history_start: _Optional[str] = ..., history_end: _Optional[str] = ..., generated_at: _Optional[str] = ..., model: _Optional[str] = ..., short_history: _Optional[bool] = ..., days: _Optional[_Iterable[_Union[ForecastDay, _Mapping]]] = ..., next_30_days: _Optional[_Union[PeriodTotal, _Mapping]] = ..., month_end: _Optional[_Union[PeriodTotal, _Mapping]] = ..., hours: _Optional[_Iterable[_Union[ForecastHour, _Mapping]]] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class BudgetStatusRequest(_message.Message):
    __slots__ = ("budget_id", "tenant_id")
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    tenant_id: str
    def __init__(self, budget_id: _Optional[str] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class BudgetReportRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class ThresholdStatus(_message.Message):
    __slots__ = ("basis", "percent", "threshold_amount", "state", "crossing_day")
    BASIS_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CROSSING_DAY_FIELD_NUMBER: _ClassVar[int]
    basis: str
    percent: str
    threshold_amount: str
    state: str
    crossing_day: str
    def __init__(self, basis: _Optional[str] = ..., percent: _Optional[str] = ..., threshold_amount: _Optional[str] = ..., state: _Optional[str] = ..., crossing_day: _Optional[str] = ...) -> None: ...

class BudgetStatusReply(_message.Message):
    __slots__ = ("budget_id", "name", "scope", "currency", "amount", "period_start", "period_end", "history_end", "actual_to_date", "forecast_total", "forecast_lower80", "forecast_upper80", "variance", "variance_percent", "thresholds", "summary")
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    HISTORY_END_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_TO_DATE_FIELD_NUMBER: _ClassVar[int]
    FORECAST_TOTAL_FIELD_NUMBER: _ClassVar[int]
    FORECAST_LOWER80_FIELD_NUMBER: _ClassVar[int]
    FORECAST_UPPER80_FIELD_NUMBER: _ClassVar[int]
    VARIANCE_FIELD_NUMBER: _ClassVar[int]
    VARIANCE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    name: str
    scope: str
    currency: str
    amount: str
    period_start: str
    period_end: str
    history_end: str
    actual_to_date: str
    forecast_total: str
    forecast_lower80: str
    forecast_upper80: str
    variance: str
    variance_percent: str
    thresholds: _containers.RepeatedCompositeFieldContainer[ThresholdStatus]
    summary: str
    def __init__(self, budget_id: _Optional[str] = ..., name: _Optional[str] = ..., scope: _Optional[str] = ..., currency: _Optional[str] = ..., amount: _Optional[str] = ..., period_start: _Optional[str] = ..., period_end: _Optional[str] = ..., history_end: _Optional[str] = ..., actual_to_date: _Optional[str] = ..., forecast_total: _Optional[str] = ..., forecast_lower80: _Optional[str] = ..., forecast_upper80: _Optional[str] = ..., variance: _Optional[str] = ..., variance_percent: _Optional[str] = ..., thresholds: _Optional[_Iterable[_Union[ThresholdStatus, _Mapping]]] = ..., summary: _Optional[str] = ...) -> None: ...

class BudgetReportReply(_message.Message):
    __slots__ = ("budgets",)
    BUDGETS_FIELD_NUMBER: _ClassVar[int]
    budgets: _containers.RepeatedCompositeFieldContainer[BudgetStatusReply]
    def __init__(self, budgets: _Optional[_Iterable[_Union[BudgetStatusReply, _Mapping]]] = ...) -> None: ...
