"""Shipment data in: the HTTP ingestion API and `parceldesk import`, one validation and upsert service."""
