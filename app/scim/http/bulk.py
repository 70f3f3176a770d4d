"""Many PATCHes in one POST /Bulk (RFC 7644 3.7), each answered on its own: the attribute
writes to many users (app/scim/sync/write_attribute.py) use it where the server offers it."""

from __future__ import annotations

from typing import Any, Protocol

from app.scim.http import answers
from app.scim.http.errors import ScimError
from app.scim.http.protocol import BULK_SCHEMA, PATCH_SCHEMA, resource_path


class Bulking(Protocol):
    """What a bulk request uses of ScimClient."""

    def request(self, method: str, path: str, **kwargs: Any) -> object: ...

    def where(self, method: str, path: str) -> str: ...

    def redact(self, text: str) -> str: ...


def bulk_patch(
    client: Bulking, endpoint: str, patches: list[tuple[str, list[dict[str, Any]]]]
) -> list[ScimError | None]:
    """PATCH several resources in one POST /Bulk; per patch, None or the server's error."""
    operations = [
        {
            "method": "PATCH",
            "bulkId": f"p{i}",
            "path": resource_path(endpoint, resource_id),
            "data": {"schemas": [PATCH_SCHEMA], "Operations": ops},
        }
        for i, (resource_id, ops) in enumerate(patches)
    ]
    body = client.request(
        "POST", "/Bulk", json={"schemas": [BULK_SCHEMA], "Operations": operations}
    )
    where = client.where("POST", "/Bulk")
    body = answers.as_object(body or {}, where)
    results = answers.objects(body.get("Operations"), where, "Operations")
    by_id = {a.get("bulkId"): a for a in results if a.get("bulkId")}
    outcomes: list[ScimError | None] = []
    for i, operation in enumerate(operations):
        answer = by_id.get(operation["bulkId"]) or (results[i] if i < len(results) else None)
        if answer is None:
            outcomes.append(ScimError(0, None, "the bulk answer has no result for this user"))
            continue
        try:
            status = int(str(answer.get("status", "0")).split()[0])
        except ValueError:
            status = 0
        if 200 <= status < 300:
            outcomes.append(None)
            continue
        response = answer.get("response")
        error = response if isinstance(response, dict) else {}
        detail = client.redact(str(error.get("detail") or ""))
        scim_type = client.redact(str(error.get("scimType") or "")) or None
        outcomes.append(ScimError(status, scim_type, detail))
    return outcomes
