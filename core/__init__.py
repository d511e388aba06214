"""The floor: settings, logging, the database engine and session factory, the clock. Imports nothing of ours."""
