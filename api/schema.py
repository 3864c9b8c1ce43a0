"""OpenAPI post-processing: the answer every operation can give besides its own."""

SERVICE_UNAVAILABLE = {
    "description": (
        "The database is unreachable for a moment (a restart or a failover); nothing was changed. "
        "Retry after the seconds in Retry-After."
    ),
    "headers": {
        "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}},
    },
}


def document_service_unavailable(result, generator, request, public):
    """Add the 503 of a database outage (api.exception_handler, compression.middleware) to every
    operation that does not document its own (/api/health does)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("503", SERVICE_UNAVAILABLE)
    return result
