"""Fixtures for driving a case through the real services over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.support import APPLICANT, application_body, attach_materials


@pytest.fixture
def draft(applications: httpx.Client) -> Callable[..., dict[str, Any]]:
    """A new draft; with `materials=True` (the default) it carries every required material."""

    def make(
        headers: dict[str, str] = APPLICANT, *, materials: bool = True, **overrides: Any
    ) -> dict[str, Any]:
        response = applications.post(
            "/v1/applications", json=application_body(**overrides), headers=headers
        )
        assert response.status_code == 201, response.text
        app = dict(response.json())
        if materials:
            attach_materials(applications, app["id"], headers)
        return app

    return make
