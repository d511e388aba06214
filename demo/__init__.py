"""The demo company generator (Faker): dev and tests only, never imported by the product."""

DEMO_EXTRA_MISSING = (
    "the demo company needs the optional 'demo' extra (Faker): "
    "pip install -e '.[demo]' (./scripts/run.sh installs it)"
)


def demo_available() -> bool:
    """True when the demo extra (Faker) is installed."""
    from importlib.util import find_spec

    return find_spec("faker") is not None
