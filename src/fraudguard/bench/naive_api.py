"""The naive API baseline: a minimal FastAPI app that scores each request alone.

No micro-batching, no authentication, no body limit: one request is decoded, featurised
(what-if, state not updated) and scored with the same models as the real API, then the
next. Serve it with::

    FRAUDGUARD_STATE_DIR=... uvicorn fraudguard.bench.naive_api:create_app --factory --port 8001

It exists only so ``fraudguard bench`` can say what batching buys; it is not a product.
"""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import FastAPI, Request, Response

from fraudguard import schema


def create_app() -> FastAPI:
    """The app, with the registry's ``CURRENT`` version loaded from ``FRAUDGUARD_STATE_DIR``."""
    from fraudguard.config import load_settings
    from fraudguard.models.scorer import Scorer

    settings = load_settings()
    scorer = Scorer.load(settings.models_dir)
    pipeline = scorer.make_pipeline()
    decoder = msgspec.json.Decoder(schema.Transaction)
    app = FastAPI(title="naive scorer")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/score")
    async def score(request: Request) -> Response:
        try:
            tx = decoder.decode(await request.body())
        except msgspec.DecodeError as e:  # ValidationError is a subclass
            return Response(msgspec.json.encode({"detail": str(e)}), status_code=422, media_type="application/json")
        frame = schema.to_frame([tx])
        pred = schema.prediction_records(scorer.score_frame(frame, pipeline.transform(frame, update=False)))[0]
        body: dict[str, Any] = {
            "transaction_id": pred.transaction_id,
            "scores": pred.scores,
            "ensemble_score": pred.ensemble_score,
            "decision": pred.decision,
        }
        return Response(msgspec.json.encode(body), media_type="application/json")

    return app
