"""``fraudguard api`` (the REST + WebSocket server) and ``fraudguard api-key create``."""

from __future__ import annotations

import typer

from fraudguard.cli.app import app
from fraudguard.cli.common import clean_errors, console, settings_from_flags

key_app = typer.Typer(help="Manage API keys stored hashed under FRAUDGUARD_STATE_DIR.", no_args_is_help=True)
app.add_typer(key_app, name="api-key")


@app.command()
@clean_errors
def api(
    host: str | None = typer.Option(None, help="Interface to bind (default FRAUDGUARD_API_HOST or 127.0.0.1)."),
    port: int | None = typer.Option(None, help="TCP port (default FRAUDGUARD_API_PORT or 8000)."),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
) -> None:
    """Serve the API: scoring, lookups, labels, generator controls, /metrics and WebSockets.

    Uses KAFKA_BOOTSTRAP_SERVERS, FRAUDGUARD_DATABASE_URL and the model registry when set.

    /readyz reports what is missing. POSTs need a key from FRAUDGUARD_API_KEYS or `fraudguard api-key create`.
    """
    import uvicorn

    from fraudguard.api.app import create_app

    settings = settings_from_flags(api_host=host, api_port=port)
    from fraudguard.redact import install, url_password

    install(url_password(settings.database_dsn or ""), *settings.api_key_list)
    console.print(f"FraudGuard API on http://{settings.api_host}:{settings.api_port} (docs at /docs)")
    uvicorn.run(
        create_app(settings, freeze_heap=True),
        host=settings.api_host,
        port=settings.api_port,
        log_level=log_level,
        ws="websockets",
        loop="uvloop",  # both from uvicorn[standard]: the C event loop and HTTP parser
        http="httptools",
        access_log=False,  # one log line per scored request costs more than the scoring
        log_config=_log_config(),
    )


def _log_config() -> dict:
    """uvicorn's logging with every line passed through the redacting filter (no secret in logs)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg["filters"] = {"redact": {"()": "fraudguard.redact.RedactingFilter"}}
    for handler in cfg["handlers"].values():
        handler.setdefault("filters", []).append("redact")
    return cfg


@key_app.command("create")
@clean_errors
def create(name: str = typer.Option("default", help="A label for the key (who or what uses it).")) -> None:
    """Create a key, store its SHA-256 hash, and print the key once (it is not stored)."""
    from fraudguard.api.auth import create_key, key_file

    settings = settings_from_flags()
    key = create_key(settings.state_dir, name)
    console.print(f"stored the hash in {key_file(settings.state_dir)}; the key (shown only now):", style="dim")
    print(key)
