"""dmtloss."""
__version__ = "0.1.0.dev0"

__all__ = ["DMTLoss", "dmt_loss"]


def __getattr__(name):
    # the loss imports torch: load it on first use, so that `import dmtloss` stays light
    if name in ("DMTLoss", "dmt_loss"):
        from . import loss
        return getattr(loss, name)
    raise AttributeError(f"module 'dmtloss' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
