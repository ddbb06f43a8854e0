"""One request, one transaction, committed before the response is sent.

FastAPI runs the code after ``yield`` in a dependency only after the response is built, so a
commit there could fail after the client was told "200". ``UnitOfWorkRoute`` instead opens the
session around the endpoint and commits before returning the response: a 2xx means durable.
Responses with a status of 400 or more roll back, so a refused request changes nothing, unless
the endpoint set ``request.state.commit_on_error`` because what it wrote is the record of the
refusal itself (Collect's quarantine).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tessera.config import Settings
from tessera.kit.errors import Problem


class UnitOfWorkRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = super().get_route_handler()

        async def handler(request: Request) -> Response:
            factory = request.app.state.session_factory
            session: Session = factory()
            request.state.session = session
            try:
                response = await endpoint(request)
                if response.status_code < 400 or getattr(request.state, "commit_on_error", False):
                    await run_in_threadpool(session.commit)
                else:
                    await run_in_threadpool(session.rollback)
                return response
            except Problem:
                # Endpoints that keep a record of what they refused (Collect's quarantine)
                # set commit_on_error: the refusal is answered, the record is kept.
                if getattr(request.state, "commit_on_error", False):
                    await run_in_threadpool(session.commit)
                else:
                    await run_in_threadpool(session.rollback)
                raise
            except BaseException:
                await run_in_threadpool(session.rollback)
                raise
            finally:
                await run_in_threadpool(session.close)

        return handler


def router(**kwargs: object) -> APIRouter:
    """An APIRouter whose routes each run in one transaction."""
    return APIRouter(route_class=UnitOfWorkRoute, **kwargs)  # type: ignore[arg-type]


def _session(request: Request) -> Session:
    session: Session = request.state.session
    return session


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DbSession = Annotated[Session, Depends(_session)]
AppSettings = Annotated[Settings, Depends(_settings)]
