"""Personal data: erasure on request (erasure.py), what we hold about someone (export.py), how long we keep it
(retention.py), and Rasa's conversation store, which holds the same texts outside our database (trackers.py).

Imports core, crm and learning (masking of training texts); never telegram or rasa_sdk. The bot's /forget and
its daily retention job (bot/privacy.py) and `parceldesk privacy …` (parceldesk/cli_privacy.py) are the doors.
"""
