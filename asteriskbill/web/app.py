"""The console as an ASGI application: every pages module's routes, the packaged static files, the headers."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from asteriskbill.settings import Settings
from asteriskbill.web import pages, render
from asteriskbill.web.auth import Web
from asteriskbill.web.security import SecurityHeaders

STATIC = Path(__file__).parent / "static"


def page_routes() -> list[BaseRoute]:
    """The routes of every module in web/pages/, in name order."""
    found: list[BaseRoute] = []
    for module in sorted(pkgutil.iter_modules(pages.__path__), key=lambda m: m.name):
        found.extend(importlib.import_module(f"{pages.__name__}.{module.name}").ROUTES)
    return found


def create_app(engine: Engine, settings: Settings) -> Starlette:
    routes = [*page_routes(), Mount("/static", StaticFiles(directory=STATIC), name="static")]
    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])
    app.state.web = Web(engine, settings, render.templates(ZoneInfo(settings.timezone)))
    return app
