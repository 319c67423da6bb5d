"""`guakao demo` keeps working: it drives a case to PLAN_APPROVED on the real services."""

from __future__ import annotations

import asyncio

import httpx

from guakao_devtools.demo import Demo
from guakao_devtools.services import ServiceProcess
from tests.e2e.support import APPLICANT


async def test_the_demo_drives_a_case_to_an_approved_plan(
    services: dict[str, ServiceProcess], applications: httpx.Client
) -> None:
    lines: list[str] = []
    demo = Demo(
        services["applications"].url,
        services["approvals"].url,
        services["contracts"].url,
        say=lines.append,
        timeout_s=20,
    )
    app_id = await asyncio.to_thread(demo.run)
    case = applications.get(f"/v1/applications/{app_id}", headers=APPLICANT).json()
    assert case["status"] == "PLAN_APPROVED"
    assert any("trace " in line and "submits" in line for line in lines)
    assert "    -> contract SIGNED" in lines
