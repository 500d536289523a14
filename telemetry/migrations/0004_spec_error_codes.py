"""Telemetry's rows name episodes by the classifier's codes: they take the spec's names with sync's rows
(sync 0007). ScheduleChange.reason is prose written at the time and stays as it was."""

from django.db import migrations

from core.codes import SPEC_RENAMES, codes_rename


class Migration(migrations.Migration):
    dependencies = [
        ("telemetry", "0003_slow_run_outlives_its_run"),
        ("sync", "0007_spec_error_codes"),
    ]
    operations = [
        codes_rename(
            renames=SPEC_RENAMES,
            columns=[
                ("telemetry", "BackoffState", "category"),
                ("telemetry", "BackoffState", "last_error_code"),
                ("telemetry", "ScheduleChange", "category"),
            ],
        ),
    ]
