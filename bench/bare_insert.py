"""The ceiling: a bare FastAPI endpoint doing one INSERT and commit per request.

Run by bench/journey_writes.py as `uvicorn bench.bare_insert:create_app --factory`, with
BARE_DATABASE_URL set to sqlite:///file or postgresql://... .
"""

import os
import sqlite3
import threading
from typing import Any

from fastapi import FastAPI, Request


def create_app() -> FastAPI:
    url = os.environ["BARE_DATABASE_URL"]
    app = FastAPI()
    local = threading.local()

    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        setup = sqlite3.connect(path)
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, body TEXT)")
        setup.commit()

        def insert(body: bytes) -> None:
            if not hasattr(local, "conn"):
                local.conn = sqlite3.connect(path, timeout=30)
            local.conn.execute("INSERT INTO rows (body) VALUES (?)", (body.decode(),))
            local.conn.commit()
    else:
        from psycopg_pool import ConnectionPool

        pool = ConnectionPool(url, min_size=4, max_size=16, open=True)
        with pool.connection() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS rows (id BIGSERIAL PRIMARY KEY, body TEXT)")

        def insert(body: bytes) -> None:
            with pool.connection() as conn:
                conn.execute("INSERT INTO rows (body) VALUES (%s)", (body.decode(),))

    @app.get("/health/live")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/rows", status_code=201)
    def add_row(request: Request, payload: dict[str, Any]) -> dict[str, str]:
        insert(str(payload).encode())
        return {"status": "ok"}

    return app
