"""Feedback labels and generator controls (both need an API key)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException

from fraudguard import schema
from fraudguard.api.deps import NO_BROKER, ReadKey, ServicesDep, WriteKey
from fraudguard.api.schemas import GeneratorIn, GeneratorOut, LabelIn, LabelsIn, LabelsOut
from fraudguard.errors import BrokerError, ConfigError, ValidationError
from fraudguard.io import pg_queries

router = APIRouter(tags=["feedback"])
NOTHING_CONFIGURED = "neither broker nor database configured"


def publish_labels(services: Any, labels: list[schema.Label]) -> None:
    from fraudguard.io.kafka import flush_or_raise

    topic = services.settings.topic_labels
    for lab in labels:
        services.producer.produce(topic, schema.encode(lab), key=lab.transaction_id.encode())
    flush_or_raise(services.producer, 10.0)


def _store_labels(services: Any, labels: list[schema.Label]) -> int:
    with services.pool.connection() as conn:
        return pg_queries.record_labels(conn, labels)


@router.post("/v1/labels", dependencies=[WriteKey], response_model=LabelsOut)
async def post_labels(body: LabelIn | LabelsIn, services: ServicesDep) -> LabelsOut:
    """Late ground truth: published to ``labels`` (metrics, merchant features) and stored in PostgreSQL."""
    items = [body] if isinstance(body, LabelIn) else body.labels
    labels = [schema.Label(**i.model_dump()) for i in items]
    for i, lab in enumerate(labels):
        if lab.labelled_at is not None and lab.labelled_at.tzinfo is None:
            raise ValidationError(
                f"labels.{i}.labelled_at" if isinstance(body, LabelsIn) else "labelled_at", "must include a UTC offset"
            )
    if services.producer is None and services.pool is None:
        raise HTTPException(503, NOTHING_CONFIGURED)
    updated = None
    if services.pool is not None:
        updated = await asyncio.to_thread(_store_labels, services, labels)
    if services.producer is not None:
        await asyncio.to_thread(publish_labels, services, labels)
    return LabelsOut(
        received=len(labels),
        published=services.producer is not None,
        stored=services.pool is not None,
        updated_predictions=updated,
    )


@router.get("/v1/generator", dependencies=[ReadKey], response_model=GeneratorOut, tags=["generator"])
def get_generator(services: ServicesDep) -> Any:
    """Whether the synthetic generator runs, at what rate and fraud rate."""
    if services.generator is None:
        raise HTTPException(503, NO_BROKER)
    return services.generator.status()


@router.post("/v1/generator", dependencies=[WriteKey], response_model=GeneratorOut, tags=["generator"])
async def post_generator(body: GeneratorIn, services: ServicesDep) -> Any:
    """Start/stop the generator or change its rate or fraud rate."""
    if services.generator is None:
        raise HTTPException(503, NO_BROKER)
    try:
        return await asyncio.to_thread(services.generator.configure, **body.model_dump())
    except ConfigError as e:
        raise ValidationError("$", str(e)) from e
    except BrokerError as e:
        raise HTTPException(503, "broker unavailable") from e
