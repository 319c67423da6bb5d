"""Create what `topology` declares on a Kafka cluster and an S3 endpoint: topics with their
partition counts, and buckets (versioning, Object Lock). Idempotent: only what is missing is
added. Used by `guakao infra up` and, as `python -m guakao_shared.bootstrap`, by the compose
and Kubernetes bootstrap jobs (env: GUAKAO_KAFKA_BOOTSTRAP, GUAKAO_S3_ENDPOINT,
GUAKAO_S3_ACCESS_KEY, GUAKAO_S3_SECRET_KEY, GUAKAO_S3_SECURE).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable

from minio import Minio
from minio.commonconfig import ENABLED
from minio.versioningconfig import VersioningConfig

from guakao_shared.topology import BUCKETS, TOPICS

TOPIC_ALREADY_EXISTS = 36


class BootstrapError(RuntimeError):
    pass


async def ensure_topics(bootstrap: str, progress: Callable[[str], None] = print) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in TOPICS if t.name not in existing]
        if not missing:
            return
        response = await admin.create_topics(
            [
                NewTopic(
                    t.name,
                    num_partitions=t.partitions,
                    replication_factor=1,
                    topic_configs={"retention.ms": str(t.retention_ms)},
                )
                for t in missing
            ]
        )
        errors = [
            (e["topic"], e["error_code"], e.get("error_message"))
            for e in response.to_object()["topic_errors"]
            if e["error_code"] not in (0, TOPIC_ALREADY_EXISTS)
        ]
        if errors:
            raise BootstrapError(f"could not create topics: {errors}")
        for t in missing:
            progress(f"created topic {t.name} ({t.partitions} partitions)")
    finally:
        await admin.close()


def ensure_buckets(client: Minio, progress: Callable[[str], None] = print) -> None:
    for bucket in BUCKETS:
        if not client.bucket_exists(bucket.name):
            client.make_bucket(bucket.name, object_lock=bucket.object_lock)
            progress(
                f"created bucket {bucket.name}{' (object lock)' if bucket.object_lock else ''}"
            )
        if bucket.versioning:
            client.set_bucket_versioning(bucket.name, VersioningConfig(ENABLED))


def main() -> int:
    env = os.environ
    try:
        kafka, endpoint = env["GUAKAO_KAFKA_BOOTSTRAP"], env["GUAKAO_S3_ENDPOINT"]
        access, secret = env["GUAKAO_S3_ACCESS_KEY"], env["GUAKAO_S3_SECRET_KEY"]
    except KeyError as missing:
        print(f"bootstrap: environment variable {missing} is required", file=sys.stderr)
        return 2
    secure = env.get("GUAKAO_S3_SECURE", "false").lower() in {"1", "true", "yes"}
    deadline = time.monotonic() + float(env.get("GUAKAO_BOOTSTRAP_TIMEOUT_S", "300"))
    delay = 1.0
    while True:
        try:
            asyncio.run(ensure_topics(kafka))
            ensure_buckets(Minio(endpoint, access_key=access, secret_key=secret, secure=secure))
            print("bootstrap: topics and buckets are in place")
            return 0
        except BootstrapError as exc:
            print(f"bootstrap: {exc}", file=sys.stderr)
            return 1
        except Exception as exc:
            if time.monotonic() > deadline:
                print(f"bootstrap: gave up: {exc}", file=sys.stderr)
                return 1
            print(
                f"bootstrap: not reachable yet ({exc}); retrying in {delay:.0f}s", file=sys.stderr
            )
            time.sleep(delay)
            delay = min(delay * 2, 15)


if __name__ == "__main__":
    sys.exit(main())
