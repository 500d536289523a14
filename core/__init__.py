"""What every app shares: errors, secrets at rest, redaction, the read cache, publish-after-commit,
migration helpers and the interface adapters. It imports no app (the import contracts in pyproject.toml
say so and ``make test`` checks them)."""
