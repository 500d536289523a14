"""The audit trail: who did what, when, with which token and from where, for every control, registration,
token and secret action of every app. Apps mark their acting services with ``@audited``; the request a
service runs under is known from ``core.context``, so no service takes it as an
argument and commands and tasks are recorded as such."""
