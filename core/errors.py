"""Errors a user can act on. Services raise these with a message a shop clerk understands;
the API turns them into problem documents, the admin into a flash message, the CLI into an
error line. The transaction is rolled back in every case."""
from __future__ import annotations


class O2OError(Exception):
    status = 422
    title = "Request cannot be processed"
    type_suffix = "unprocessable"

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra


class ValidationError(O2OError):
    status = 422
    title = "Invalid input"
    type_suffix = "validation"


class NotFound(O2OError):
    status = 404
    title = "Not found"
    type_suffix = "not-found"


class Conflict(O2OError):
    """The request is valid but the current state forbids it (closed session, shipped twice)."""
    status = 409
    title = "Conflict with the current state"
    type_suffix = "conflict"


class InsufficientStock(Conflict):
    title = "Not enough stock"
    type_suffix = "insufficient-stock"


class PermissionDenied(O2OError):
    status = 403
    title = "Forbidden"
    type_suffix = "forbidden"
