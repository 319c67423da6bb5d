"""The local Kafka's cluster id is one its storage tool accepts, every time."""

from __future__ import annotations

import base64
import uuid
from unittest import mock

from guakao_devtools import infra


def test_a_cluster_id_never_starts_with_a_dash() -> None:
    # the first uuid encodes to an id starting with "-", which the storage tool reads as a flag
    dashed = uuid.UUID(bytes=base64.urlsafe_b64decode("-" + "A" * 21 + "=="))
    plain = uuid.UUID(int=1)
    with mock.patch("uuid.uuid4", side_effect=[dashed, plain]):
        cluster_id = infra._kafka_cluster_id()

    assert not cluster_id.startswith("-")
    assert base64.urlsafe_b64decode(cluster_id + "==") == plain.bytes


def test_a_cluster_id_is_sixteen_bytes_of_url_safe_base64() -> None:
    for _ in range(200):
        cluster_id = infra._kafka_cluster_id()
        assert len(cluster_id) == 22 and not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
