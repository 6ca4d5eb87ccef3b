"""Model families behind one protocol (see `ltv.models.protocol`)."""


def __getattr__(name: str):
    if name in ("load_model", "make_model", "FAMILIES"):
        from ltv.models import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'ltv.models' has no attribute {name!r}")
