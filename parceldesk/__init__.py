"""ParcelDesk: command line, settings, engine environment and process supervision."""
