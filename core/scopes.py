"""What an API token may do. A request made with a token is allowed an act only when the token's scopes
include the act's scope *and* its owner holds the act's permission; a session (the admin, a browser) has
no scopes to narrow it and is judged by the permissions alone.

- ``read``: GraphQL queries, REST reads, exports
- ``operate``: the sync and orchestration controls
- ``notify``: sending messages
- ``admin``: sites, projects and tokens
"""

from __future__ import annotations

from typing import Any, Final

READ: Final = "read"
OPERATE: Final = "operate"
NOTIFY: Final = "notify"
ADMIN: Final = "admin"
SCOPES: Final = (READ, OPERATE, NOTIFY, ADMIN)


def token_scopes(auth: Any) -> frozenset[str] | None:
    """The scopes of the request's credentials; None when they carry none (a session)."""
    scopes = getattr(auth, "scopes", None)
    return None if scopes is None else frozenset(scopes)


def allows(auth: Any, scope: str) -> bool:
    scopes = token_scopes(auth)
    return scopes is None or scope in scopes


def scope_denied(scope: str) -> str:
    return f"This token's scopes do not include '{scope}'"
