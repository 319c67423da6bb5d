"""Fixtures shared with the end-to-end suite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.support import APPLICANT, application_body


@pytest.fixture
def draft(applications: httpx.Client) -> Callable[..., dict[str, Any]]:
    def make(headers: dict[str, str] = APPLICANT, **overrides: Any) -> dict[str, Any]:
        response = applications.post(
            "/v1/applications", json=application_body(**overrides), headers=headers
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    return make
