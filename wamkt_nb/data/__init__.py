"""Customer data: loading, validation, E.164 normalisation, sample data, features and tags."""

from .schema import CustomerData

__all__ = ["CustomerData"]
