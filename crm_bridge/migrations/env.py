"""Alembic environment of crm_bridge: runs on the connection config.database.upgrade hands in."""

from alembic import context

from crm_bridge.tables import metadata


def only_crm(name: str | None, type_: str, parent_names: object) -> bool:
    """Let autogenerate see only this package's tables (others share the database)."""
    return type_ != "table" or (name or "").startswith("crm_")


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=context.config.attributes["version_table"],
    # SQLite alters tables by copying them; batch mode does that for later migrations.
    render_as_batch=connection.dialect.name == "sqlite",
    include_name=only_crm,
)
with context.begin_transaction():
    context.run_migrations()
