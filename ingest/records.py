"""What a courier's system may send: customers, shipments and tracking events, validated field by field.

One set of models serves the HTTP API (request bodies, the OpenAPI document) and `parceldesk import` (CSV and
JSON Lines rows), so both accept and refuse exactly the same things, with the same reasons.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.clock import COMPANY_TZ
from crm.identity import normalize_phone
from crm.labels import REASON_LABELS
from crm.models import CustomerKind, EventKind, ServiceLevel, ShipmentStatus
from crm.waybills import S10_PATTERN, XJ_PATTERN, is_valid_s10, normalize

LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class RowError:
    """Why one item was refused: its row (1-based: a file's line, a batch's position), the field, the reason."""

    row: int
    field: str | None
    reason: str


def choice(enum_cls: type[enum.Enum], value: object, what: str) -> enum.Enum:
    """The enum member a value names (case and surrounding blanks tolerated), or a ValueError listing the valid ones."""
    if isinstance(value, enum_cls):
        return value
    text = str(value).strip().lower() if value is not None else ""
    try:
        return enum_cls(text)
    except ValueError:
        valid = ", ".join(str(member.value) for member in enum_cls)
        raise ValueError(f"unknown {what} {value!r}; valid: {valid}") from None


def tracking_number(value: object) -> str:
    """A tracking number validated as everywhere else (XJ + 12 digits, or UPU S10 with its check digit), normalised."""
    number = normalize(str(value or ""))
    if XJ_PATTERN.match(number) or is_valid_s10(number):
        return number
    if S10_PATTERN.match(number):
        raise ValueError(f"{value!r}: the S10 check digit is wrong")
    raise ValueError(
        f"{value!r} is not a tracking number: XJ + 12 digits (XJ202611180042) or UPU S10 (EE123456785CN)"
    )


def reason_code(value: object) -> str | None:
    """A known reason code (customers read its label), or a ValueError listing the valid ones."""
    if value is None:
        return None
    code = str(value).strip().lower()
    if code not in REASON_LABELS:
        raise ValueError(f"unknown reason {value!r}; valid: {', '.join(REASON_LABELS)}")
    return code


def as_moment(value: datetime) -> datetime:
    """A timezone-aware UTC moment; a time without an offset is the company's local time (China time)."""
    aware = value.replace(tzinfo=COMPANY_TZ) if value.tzinfo is None else value
    return aware.astimezone(UTC)


class Record(BaseModel):
    """Shared rules: unknown fields are refused; blanks are trimmed; an empty text is "no value"."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    # The fields that identify the record (an upsert key), for the documentation.
    key: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _blanks(cls, data: Any) -> Any:
        """An empty cell (CSV) is no value: null for a field that may be null, else not given (required or default)."""
        if not isinstance(data, dict):
            return data
        cleaned: dict[str, Any] = {}
        for name, value in data.items():
            if isinstance(value, str) and not value.strip():
                info = cls.model_fields.get(name)
                if info is not None and (info.is_required() or info.default is not None):
                    continue
                value = None
            cleaned[name] = value
        return cleaned


def _phone(value: str | None) -> str | None:
    """A phone number must contain digits (stored as written; compared by its digits)."""
    if value is not None and len(normalize_phone(value)) < 5:
        raise ValueError(f"{value!r} is not a phone number")
    return value


class CustomerRecord(Record):
    """A private or company customer, keyed by your customer code."""

    key: ClassVar[tuple[str, ...]] = ("code",)

    code: str = Field(min_length=1, max_length=16, description="Your customer number (the key).")
    kind: CustomerKind = Field(CustomerKind.PERSONAL, description="personal or company.")
    name: str = Field(min_length=1, max_length=200, description="Person's or company's name.")
    contact_person: str | None = Field(None, max_length=100, description="A company's contact person.")
    phone: str = Field(min_length=1, max_length=32, description="Main phone (how a Telegram user proves identity).")
    phone_alt: str | None = Field(None, max_length=32, description="Second phone.")
    email: str | None = Field(None, max_length=200)
    address: str = Field(min_length=1, max_length=300)
    city: str = Field(min_length=1, max_length=64)
    industry: str | None = Field(None, max_length=100, description="Company customers: e.g. e_commerce.")
    notes: str | None = None
    preferred_language: str = Field("zh", description="zh or en: notices before the customer ever wrote to us.")

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: object) -> enum.Enum:
        """personal or company."""
        return choice(CustomerKind, value, "kind")

    @field_validator("phone", "phone_alt")
    @classmethod
    def _phones(cls, value: str | None) -> str | None:
        """Phones must contain digits."""
        return _phone(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        """A plausible address (one @, no blanks)."""
        if value is not None and (value.count("@") != 1 or " " in value or value.startswith("@")):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value

    @field_validator("preferred_language", mode="before")
    @classmethod
    def _language(cls, value: object) -> str:
        """zh or en."""
        language = str(value or "").strip().lower()
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {value!r}; valid: {', '.join(LANGUAGES)}")
        return language


class ShipmentRecord(Record):
    """A parcel with its waybill, parties, money and promise, keyed by its tracking number."""

    key: ClassVar[tuple[str, ...]] = ("tracking_number",)

    tracking_number: str = Field(description="XJ + 12 digits, or UPU S10 with its check digit (the key).")
    customer_code: str | None = Field(None, max_length=16, description="The sending customer's code (must exist).")
    sender_name: str = Field(min_length=1, max_length=200)
    sender_phone: str = Field(min_length=1, max_length=32)
    sender_address: str = Field(min_length=1, max_length=300)
    sender_city: str = Field(min_length=1, max_length=64)
    recipient_name: str = Field(min_length=1, max_length=200)
    recipient_phone: str = Field(min_length=1, max_length=32, description="The recipient owns the parcel too.")
    recipient_address: str = Field(min_length=1, max_length=300)
    recipient_city: str = Field(min_length=1, max_length=64)
    weight_kg: Decimal = Field(gt=0, max_digits=8, decimal_places=2)
    fee: Decimal = Field(ge=0, max_digits=10, decimal_places=2, description="Yuan.")
    declared_value: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2, description="Yuan.")
    service_level: ServiceLevel = Field(description="same_day, express, standard or economy.")
    status: ShipmentStatus = Field(ShipmentStatus.CREATED, description="Usually left to the tracking events.")
    status_reason: str | None = Field(None, description="A reason code, e.g. weather.")
    promised_date: date = Field(description="The promised delivery day (YYYY-MM-DD).")
    shipped_at: datetime = Field(description="ISO 8601; without an offset it is China time.")
    delivered_at: datetime | None = None

    @field_validator("tracking_number", mode="before")
    @classmethod
    def _number(cls, value: object) -> str:
        """Validated and normalised like every tracking number."""
        return tracking_number(value)

    @field_validator("sender_phone", "recipient_phone")
    @classmethod
    def _phones(cls, value: str) -> str | None:
        """Phones must contain digits."""
        return _phone(value)

    @field_validator("service_level", mode="before")
    @classmethod
    def _service(cls, value: object) -> enum.Enum:
        """One of the products sold."""
        return choice(ServiceLevel, value, "service_level")

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: object) -> enum.Enum:
        """One of the statuses customers are told."""
        return choice(ShipmentStatus, value, "status")

    @field_validator("status_reason", mode="before")
    @classmethod
    def _reason(cls, value: object) -> str | None:
        """A reason code customers get a label for."""
        return reason_code(value)

    @field_validator("shipped_at", "delivered_at")
    @classmethod
    def _moment(cls, value: datetime | None) -> datetime | None:
        """Aware UTC (a time without offset is China time)."""
        return as_moment(value) if value is not None else None


class EventRecord(Record):
    """One scan or status change of a parcel, keyed by the parcel's tracking number and your event id."""

    key: ClassVar[tuple[str, ...]] = ("tracking_number", "event_id")

    tracking_number: str = Field(description="The parcel (its shipment must exist).")
    event_id: str = Field(min_length=1, max_length=64, description="Your system's id of the event (the key).")
    occurred_at: datetime = Field(description="ISO 8601; without an offset it is China time.")
    kind: EventKind = Field(description="What the scan records, e.g. arrived_hub, delayed, delivered.")
    status: ShipmentStatus = Field(description="The parcel's status after this event.")
    place_zh: str = Field(min_length=1, max_length=120, description="Where, in Chinese.")
    place_en: str | None = Field(None, max_length=120, description="Where, in English (Chinese if missing).")
    reason: str | None = Field(None, description="A reason code, e.g. weather (delays and exceptions).")
    note: str | None = None
    courier: str | None = Field(None, max_length=100, description="Who scanned it.")

    @field_validator("tracking_number", mode="before")
    @classmethod
    def _number(cls, value: object) -> str:
        """Validated and normalised like every tracking number."""
        return tracking_number(value)

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: object) -> enum.Enum:
        """One of the scan kinds customers get a label for."""
        return choice(EventKind, value, "kind")

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: object) -> enum.Enum:
        """One of the statuses customers are told."""
        return choice(ShipmentStatus, value, "status")

    @field_validator("reason", mode="before")
    @classmethod
    def _reason(cls, value: object) -> str | None:
        """A reason code customers get a label for."""
        return reason_code(value)

    @field_validator("occurred_at")
    @classmethod
    def _moment(cls, value: datetime) -> datetime:
        """Aware UTC (a time without offset is China time)."""
        return as_moment(value)


RECORDS: dict[str, type[Record]] = {
    "customers": CustomerRecord,
    "shipments": ShipmentRecord,
    "events": EventRecord,
}


def row_errors(exc: ValidationError, row: int, *, prefix: tuple[object, ...] = ()) -> list[RowError]:
    """One RowError per problem pydantic found in an item (prefix: the location parts before the field)."""
    errors = []
    for error in exc.errors():
        errors.append(error_of(error, row, skip=len(prefix)))
    return errors


def error_of(error: Any, row: int, *, skip: int = 0) -> RowError:
    """A RowError from one pydantic error (a dict with loc, type, msg, ctx); `skip` leading loc parts are dropped."""
    location = [str(part) for part in tuple(error.get("loc", ()))[skip:]]
    kind = error.get("type")
    if kind == "value_error" and error.get("ctx", {}).get("error") is not None:
        reason = str(error["ctx"]["error"])
    elif kind == "missing":
        reason = "required"
    elif kind == "extra_forbidden":
        reason = "unknown field"
    else:
        reason = str(error.get("msg", "invalid"))
    return RowError(row, ".".join(location) or None, reason)
