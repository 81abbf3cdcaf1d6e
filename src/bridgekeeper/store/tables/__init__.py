"""The database tables, one module per area, as typed SQLAlchemy 2 models."""
