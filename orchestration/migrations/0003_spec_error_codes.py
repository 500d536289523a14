"""An orchestration that failed on Jira stores the classifier's code prefixed ``JIRA_``: the codes renamed to
the spec's names (sync 0007) are renamed here too (JIRA_RATE_LIMITED -> JIRA_RATE_LIMIT, JIRA_NETWORK ->
JIRA_NETWORK_GLITCH), in the columns and in the events the history replays. Reversible."""

from django.db import migrations

from core.codes import SPEC_RENAMES, codes_rename

JIRA_RENAMES = {f"JIRA_{old}": f"JIRA_{new}" for old, new in SPEC_RENAMES.items()}


class Migration(migrations.Migration):
    dependencies = [("orchestration", "0002_orchestration_operators_group")]
    operations = [
        codes_rename(
            renames=JIRA_RENAMES,
            columns=[
                ("orchestration", "Orchestration", "error_code"),
                ("orchestration", "PhaseExecution", "error_code"),
                ("orchestration", "AgentExecution", "error_code"),
            ],
            json_keys=[("orchestration", "Event", "payload", "error_code")],
        ),
    ]
