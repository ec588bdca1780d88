"""Read models of the admin pages: SQLAlchemy Core selects returning rows for the templates."""
