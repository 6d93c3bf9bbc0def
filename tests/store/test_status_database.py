"""`asteriskbill status` when the database fails for a reason of SQLAlchemy's own rather than the driver's."""

from __future__ import annotations

import socket

from sqlalchemy import create_engine
from sqlalchemy.pool import QueuePool

from asteriskbill.services.status import status
from asteriskbill.settings import Settings


def test_status_reports_an_error_without_a_driver_exception(sqlite_url):
    """A pool timeout is an SQLAlchemyError that is no DBAPIError: it has no ``orig`` (the driver's exception),
    and status once failed with AttributeError instead of saying what was wrong with the database."""
    engine = create_engine(sqlite_url, poolclass=QueuePool, pool_size=1, max_overflow=0, pool_timeout=0.05)
    with socket.socket() as closed, engine.connect():  # the pool's only connection is taken
        closed.bind(("127.0.0.1", 0))  # FastAGI: a port that refuses at once
        found = status(engine, Settings(db=sqlite_url, fastagi_port=closed.getsockname()[1]), timeout=1)
    engine.dispose()
    assert found.database.error.startswith("QueuePool limit of size 1 overflow 0 reached")
    assert (found.database.revision, found.database.current, found.servers) == (None, False, [])
