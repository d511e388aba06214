"""ParcelDesk's roof: the `parceldesk` command line and process supervision."""
