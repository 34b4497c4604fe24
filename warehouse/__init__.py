"""Everything that touches the DuckDB file: connection, migrations, build, ingest bookkeeping."""

from warehouse.connection import connect, connect_memory, warehouse_path
from warehouse.migrate import apply_migrations

__all__ = ["apply_migrations", "connect", "connect_memory", "warehouse_path"]
