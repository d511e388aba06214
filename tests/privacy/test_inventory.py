"""Every table has an entry in the record of processing (privacy/inventory.py): new personal data needs a decision."""

from __future__ import annotations

from crm.schema import RASA_TABLES, table_names
from privacy.inventory import TABLES
from tests.databases import TestDatabase


def test_every_table_is_in_the_inventory(database: TestDatabase) -> None:
    """The migrated database, with the table Rasa adds to it, has exactly the tables the inventory describes."""
    tables = set(table_names(database.engine)) | RASA_TABLES
    missing, stale = sorted(tables - set(TABLES)), sorted(set(TABLES) - tables)
    assert not missing, (
        f"tables without an entry in privacy/inventory.py: {missing}. Say what personal data they hold and make "
        "erasure (privacy/erasure.py), export and retention handle it (or say why they need not)."
    )
    assert not stale, f"privacy/inventory.py names tables that do not exist: {stale}"
