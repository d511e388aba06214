"""Action tests: each module gets its own migrated database per backend, with the demo company loaded.

The actions open their own sessions (actions.database.run_in_session commits), so they cannot share the
rolled-back `session` fixture: the action server is pointed at a dedicated database through its settings
(PARCELDESK_DATABASE_URL / PARCELDESK_DATABASE_SCHEMA) and its cached settings and sessionmaker are reset.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from actions.database import action_settings, session_factory
from core.clock import local, utcnow
from core.db import make_sessionmaker, transaction
from crm.identity import link_contact
from crm.models import Customer, Shipment
from demo.company import SHOWCASE_COMPANY_CODE, SHOWCASE_PERSON_CODE, generate_demo
from tests.actions.trackers import Person
from tests.databases import BACKENDS, create_database

# A small demo is enough: the showcase customers and parcels exist whatever the size.
DEMO_SIZE = {"customers": 40, "shipments": 200}
# The staff group of the action tests (handoffs need one; without it nobody is promised).
STAFF_GROUP = -100123456


@dataclass(frozen=True)
class ActionDatabase:
    """The database the action server of a test module uses, and the demo's date."""

    backend: str
    sessions: sessionmaker[Session]
    today: date

    def customer(self, code: str) -> Customer:
        """A customer by code (detached copy)."""
        with self.sessions() as session:
            return session.scalars(select(Customer).where(Customer.code == code)).one()

    def shipment(self, number: str) -> Shipment:
        """A shipment by tracking number, with its events loaded (detached copy)."""
        with self.sessions() as session:
            shipment = session.scalars(select(Shipment).where(Shipment.tracking_number == number)).one()
            _ = list(shipment.events)
            return shipment

    def link(self, person: Person, phone: str) -> Customer:
        """Link the person's Telegram account to the customer with this phone (as sharing the contact does)."""
        with transaction(self.sessions) as session:
            customer = link_contact(session, telegram_user_id=person.user_id, phone=phone, chat_id=person.chat_id)
            assert customer is not None, phone
            return customer

    @property
    def wang(self) -> Customer:
        """王小明, the showcase private customer (sender of every SHOWCASE_NUMBERS parcel)."""
        return self.customer(SHOWCASE_PERSON_CODE)

    @property
    def company(self) -> Customer:
        """杭州云仓, the showcase company customer (contact person 陈静)."""
        return self.customer(SHOWCASE_COMPANY_CODE)


def _reset_action_server() -> None:
    """Forget the action server's settings and sessionmaker (disposing the engine it built, if any)."""
    if session_factory.cache_info().currsize:
        session_factory().kw["bind"].dispose()
    session_factory.cache_clear()
    action_settings.cache_clear()


@pytest.fixture(scope="module", params=BACKENDS)
def action_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionDatabase]:
    """A migrated database with the demo loaded, which the action server's run_in_session writes to."""
    for database in create_database(request.param, tmp_path_factory.mktemp(f"actions-{request.param}")):
        sessions = make_sessionmaker(database.engine)
        today = local(utcnow()).date()
        with transaction(sessions) as session:
            generate_demo(session, today=today, **DEMO_SIZE)
        with pytest.MonkeyPatch.context() as patch:
            patch.delenv("PARCELDESK_DATABASE_SCHEMA", raising=False)
            for name, value in database.env.items():
                patch.setenv(name, value)
            # Agents always on duty, so a handoff answers utter_handoff_queued whatever the time of day.
            patch.setenv("PARCELDESK_STAFFED_HOURS", "00:00-24:00")
            # A staff group exists, so handoffs queue (without one the customer gets the company's phone instead).
            patch.setenv("PARCELDESK_STAFF_CHAT_ID", str(STAFF_GROUP))
            _reset_action_server()
            try:
                yield ActionDatabase(request.param, sessions, today)
            finally:
                _reset_action_server()
