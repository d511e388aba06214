"""`python -m ingest`: run the ingestion API process."""

from core.logs import configure_logging
from core.settings import load_settings
from ingest.main import run_ingest

if __name__ == "__main__":
    settings = load_settings()
    configure_logging(settings.log_level)
    run_ingest(settings)
