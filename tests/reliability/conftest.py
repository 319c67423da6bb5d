"""The reliability suite drives cases with the same fixtures as the end-to-end suite."""

from tests.e2e.conftest import draft

__all__ = ["draft"]
