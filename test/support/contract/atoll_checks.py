"""Schemathesis checks of Atoll's error contract (SPEC: errors are { "error": { "code", "message", "details"? } }),
loaded by test/api-contract.test.ts through SCHEMATHESIS_HOOKS. The Iceberg REST catalog under /iceberg answers in
the Iceberg REST error model ({ "error": { "message", "type", "code" } }) instead, as its clients expect."""
import re

import schemathesis

SNAKE_CASE = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _json(response):
    try:
        return response.json()
    except Exception as exc:  # noqa: BLE001 - any decoding failure means the body is not the documented JSON
        raise AssertionError(f"{response.status_code} error without a JSON body: {response.text[:200]!r}") from exc


@schemathesis.check
def spec_error_shape(ctx, response, case):
    """Every 4xx/5xx carries the error shape of its API: Atoll's everywhere, Iceberg's under /iceberg."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return None
    body = _json(response)
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        raise AssertionError(f"{response.status_code} body is not {{ error: {{...}} }}: {str(body)[:300]}")
    err = body["error"]
    if case.path.startswith("/iceberg"):
        if not (isinstance(err.get("message"), str) and isinstance(err.get("type"), str) and err.get("code") == response.status_code):
            raise AssertionError(f"Iceberg error model expected (message, type, code = status): {str(body)[:300]}")
        return True
    extra = set(err) - {"code", "message", "details"}
    if extra or not isinstance(err.get("code"), str) or not isinstance(err.get("message"), str):
        raise AssertionError(f"error must be {{ code, message, details? }}: {str(body)[:300]}")
    if not SNAKE_CASE.match(err["code"]):
        raise AssertionError(f"error code {err['code']!r} is not SNAKE_CASE")
    if "details" in err and not isinstance(err["details"], dict):
        raise AssertionError(f"error details must be an object: {str(body)[:300]}")
    return True
