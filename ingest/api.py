"""The HTTP ingestion API: batches of customers, shipments and tracking events from a courier's own systems.

Every request to /v1/ needs `Authorization: Bearer <PARCELDESK_INGEST_TOKEN>`; it is checked, like the body size,
before the body is read. A batch is validated item by item (every problem: which row, which field, why) and written
in one transaction: all of it or nothing. Resending a batch changes nothing (customers by code, shipments by
tracking number, events by tracking number and event id). The OpenAPI document is at /openapi.json.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.clock import utcnow
from core.db import transaction
from core.settings import Settings
from ingest.records import CustomerRecord, EventRecord, Record, RowError, ShipmentRecord, error_of
from ingest.upsert import IngestPolicy, Outcome, upsert

logger = logging.getLogger(__name__)

API_PREFIX = "/v1/"
# Two batches writing the same new items at once: the loser sees a unique-key conflict and simply runs again
# (it then finds the winner's rows and leaves them as they are).
ATTEMPTS = 3


class CustomerBatch(BaseModel):
    """Customers to insert or update (by code)."""

    items: list[CustomerRecord]


class ShipmentBatch(BaseModel):
    """Shipments to insert or update (by tracking number)."""

    items: list[ShipmentRecord]


class EventBatch(BaseModel):
    """Tracking events to insert or update (by tracking number and event id)."""

    items: list[EventRecord]


class BatchResult(BaseModel):
    """What the batch changed."""

    inserted: int
    updated: int
    unchanged: int
    notices: int = Field(description="Notices to customers written by this batch (sent by the bot).")


class ItemError(BaseModel):
    """One problem with one item."""

    row: int | None = Field(description="The item's position in `items`, counting from 1 (null: the whole body).")
    index: int | None = Field(description="The same position counting from 0.")
    field: str | None = Field(description="The field at fault (null: the item as a whole).")
    reason: str


class Rejection(BaseModel):
    """The batch was refused; nothing was written."""

    detail: str
    errors: list[ItemError]


class Problem(BaseModel):
    """A refused request (token, size)."""

    detail: str


class BatchRejected(Exception):
    """Some items were refused: the whole transaction is rolled back."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        """Carry the errors out of the transaction."""
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = list(errors)


def item_error(error: RowError) -> ItemError:
    """The API's shape of a row error (rows count from 1, indexes from 0)."""
    return ItemError(row=error.row, index=error.row - 1, field=error.field, reason=error.reason)


def rejection(errors: Sequence[RowError], body_errors: Sequence[ItemError] = ()) -> JSONResponse:
    """422 with every problem; nothing was written."""
    items = [*body_errors, *(item_error(error) for error in errors)]
    rows = {error.row for error in errors}
    detail = f"the batch was refused ({len(rows)} invalid item(s)); nothing was written"
    if body_errors and not errors:
        detail = "the request body is not a batch; nothing was written"
    return JSONResponse(Rejection(detail=detail, errors=items).model_dump(), status_code=422)


async def validation_failed(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's validation errors, reshaped: which row, which field, why."""
    assert isinstance(exc, RequestValidationError)
    row_errors: list[RowError] = []
    body_errors: list[ItemError] = []
    for error in exc.errors():
        location = tuple(error.get("loc", ()))
        if len(location) >= 3 and location[:2] == ("body", "items") and isinstance(location[2], int):
            row_errors.append(error_of(error, location[2] + 1, skip=3))
        else:
            where = ".".join(str(part) for part in location[1:]) or None
            body_errors.append(ItemError(row=None, index=None, field=where, reason=str(error.get("msg"))))
    return rejection(row_errors, body_errors)


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A small JSON error response."""
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


class GuardMiddleware:
    """Before any body is read: the bearer token (401) and the body size (413) of requests to /v1/."""

    def __init__(self, app: ASGIApp, *, token: str, max_body_bytes: int) -> None:
        """Wrap an ASGI app."""
        self.app = app
        self.token = token.encode("utf-8")
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse early, or pass on with a receive that stops at the size limit."""
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value for key, value in scope.get("headers", [])}
        authorization = headers.get("authorization", b"")
        scheme, _, presented = authorization.partition(b" ")
        if scheme.lower() != b"bearer" or not secrets.compare_digest(presented.strip(), self.token):
            response = problem(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0
        too_large = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = True
                    raise BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await self._too_large(scope, receive, send)
        except Exception:
            # FastAPI wraps errors while reading the body; a body over the limit is still a 413.
            if not too_large or started:
                raise
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        """413 with the limit in words."""
        response = problem(413, f"the body is larger than {self.max_body_bytes} bytes; send smaller batches")
        await response(scope, receive, send)


class BodyTooLarge(Exception):
    """The request body went over the limit while being read."""


def build_api(settings: Settings, sessions: sessionmaker[Session]) -> FastAPI:
    """The ingestion API for one database, guarded by the configured token."""
    if settings.ingest_token is None:
        raise ValueError("the ingestion API needs PARCELDESK_INGEST_TOKEN")
    app = FastAPI(
        title="ParcelDesk ingestion API",
        version="1",
        description=(
            "Batches of customers, shipments and tracking events from a courier's own systems. Every batch is "
            "written whole or not at all; resending one changes nothing. Authenticate with "
            "`Authorization: Bearer <PARCELDESK_INGEST_TOKEN>`."
        ),
    )
    app.add_middleware(
        GuardMiddleware,
        token=settings.ingest_token.get_secret_value(),
        max_body_bytes=settings.ingest_max_body_bytes,
    )
    app.add_exception_handler(RequestValidationError, validation_failed)
    # Declares the scheme in the OpenAPI document; the check itself is GuardMiddleware's (before the body is read).
    bearer = HTTPBearer(auto_error=False, description="PARCELDESK_INGEST_TOKEN")
    errors: dict[int | str, dict[str, Any]] = {
        401: {"model": Problem, "description": "Missing or wrong bearer token."},
        413: {"model": Problem, "description": "Body or batch too large."},
        422: {"model": Rejection, "description": "Some items are invalid; nothing was written."},
    }

    def ingest(kind: str, records: Sequence[Record]) -> BatchResult | JSONResponse:
        """Write one batch in one transaction, or refuse it whole."""
        if len(records) > settings.ingest_max_items:
            return JSONResponse(
                {"detail": f"{len(records)} items; at most {settings.ingest_max_items} per batch"}, status_code=413
            )
        items = [(position, record) for position, record in enumerate(records, start=1)]
        started = time.perf_counter()
        attempt = 1
        while True:
            try:
                with transaction(sessions) as session:
                    policy = IngestPolicy(now=utcnow(), notice_max_age=timedelta(hours=settings.notice_max_age_hours))
                    outcome = upsert(session, kind, items, policy)
                    if outcome.rejected:
                        raise BatchRejected(outcome.rejected)
                break
            except BatchRejected as exc:
                logger.info("%s batch of %d refused: %d problem(s)", kind, len(items), len(exc.errors))
                return rejection(exc.errors)
            except IntegrityError:
                if attempt == ATTEMPTS:
                    raise
                attempt += 1
                logger.info("%s batch of %d met a concurrent writer; attempt %d", kind, len(items), attempt)
        log_outcome(kind, len(items), outcome, time.perf_counter() - started)
        return BatchResult(
            inserted=outcome.inserted, updated=outcome.updated, unchanged=outcome.unchanged, notices=outcome.notices
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        """Liveness for the supervisor (no token needed, no data)."""
        return {"status": "ok"}

    @app.post("/v1/customers", response_model=BatchResult, responses=errors, dependencies=[Depends(bearer)])
    def post_customers(batch: CustomerBatch) -> BatchResult | JSONResponse:
        """Insert or update customers (by code)."""
        return ingest("customers", batch.items)

    @app.post("/v1/shipments", response_model=BatchResult, responses=errors, dependencies=[Depends(bearer)])
    def post_shipments(batch: ShipmentBatch) -> BatchResult | JSONResponse:
        """Insert or update shipments (by tracking number); their customer_code must exist."""
        return ingest("shipments", batch.items)

    @app.post("/v1/events", response_model=BatchResult, responses=errors, dependencies=[Depends(bearer)])
    def post_events(batch: EventBatch) -> BatchResult | JSONResponse:
        """Insert or update tracking events (by tracking number and event id); the newest sets the status."""
        return ingest("events", batch.items)

    return app


def log_outcome(kind: str, items: int, outcome: Outcome, seconds: float) -> None:
    """One log line per batch: counts only, never the data."""
    logger.info(
        "%s batch of %d: %d inserted, %d updated, %d unchanged, %d notice(s) in %.0f ms",
        kind, items, outcome.inserted, outcome.updated, outcome.unchanged, outcome.notices, seconds * 1000,
    )
