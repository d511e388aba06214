"""Rasa custom actions: thin adapters that read the tracker, call crm services and emit events."""
