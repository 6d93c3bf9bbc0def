"""The store: SQLAlchemy models, the engine factory and the repositories that map rows to core values."""
