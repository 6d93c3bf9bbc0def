"""The engine factory's own promises."""

from __future__ import annotations

import gc
import weakref

from sqlalchemy import text

from asteriskbill.settings import Settings
from asteriskbill.store.engine import make_engine, reading


def test_an_engine_read_from_is_freed_once_nothing_holds_it(db_url):
    """``reading`` makes one read-only engine per engine, once; it must not keep the engine (its pool, its
    statement cache) alive after its last user: a program opening databases one after another would grow."""
    engine = make_engine(Settings(db=db_url))
    readers = []
    for _ in range(2):
        with reading(engine) as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            readers.append(conn.engine)
    assert readers[0] is readers[1] is not engine
    engine.dispose()
    freed = weakref.ref(engine)
    del engine, conn, readers
    gc.collect()
    assert freed() is None
