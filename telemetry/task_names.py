"""The Celery task names of telemetry, as plain constants (no Django import, settings use them)."""

ANALYSE_RUNS = "telemetry.analyse_runs"
