"""Scripts that run INSIDE the Rasa engine environment (Python 3.10); the application never imports them."""
