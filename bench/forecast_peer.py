"""The statistical peer for bench-forecast: statsforecast's AutoETS (Nixtla), each series' ETS model chosen by
AICc, run through statsforecast's own batch call. Imported only by the bench (statsforecast is a bench extra).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoETS, Naive

from services.forecast.evaluation.backtest import Prediction
from services.forecast.models.history import SeriesBatch


def long_frame(batch: SeriesBatch) -> pd.DataFrame:
    n, periods = batch.values.shape
    stamps = pd.date_range(batch.start, periods=periods, freq="D" if batch.step.per_day == 1 else "h")
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(n), periods),
            "ds": np.tile(stamps.tz_localize(None), n),
            "y": batch.values.ravel(),
        }
    )
    return frame.dropna()


def autoets(batch: SeriesBatch, horizon: int, n_jobs: int = 1) -> Prediction:
    """AutoETS forecasts with their 80% intervals; NaN for a series statsforecast cannot fit."""
    n = len(batch.ids)
    frame = long_frame(batch)
    point = np.full((n, horizon), np.nan)
    lower = np.full((n, horizon), np.nan)
    upper = np.full((n, horizon), np.nan)
    if frame.empty:
        return Prediction(point, lower, upper)
    engine = StatsForecast(
        models=[AutoETS(season_length=batch.step.season)],
        freq="D" if batch.step.per_day == 1 else "h",
        n_jobs=n_jobs,
        fallback_model=Naive(),  # for the series too short for ETS (a single day), as a user would configure
    )
    result = engine.forecast(df=frame, h=horizon, level=[80])
    for sid, rows in result.groupby("unique_id", sort=False):
        row = int(str(sid))
        point[row] = rows["AutoETS"].to_numpy()[:horizon]
        lower[row] = rows["AutoETS-lo-80"].to_numpy()[:horizon]
        upper[row] = rows["AutoETS-hi-80"].to_numpy()[:horizon]
    return Prediction(point, lower, upper)
