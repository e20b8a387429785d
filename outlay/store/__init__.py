"""The store: SQLAlchemy models (one definition each), the async engine, and Alembic migrations."""
