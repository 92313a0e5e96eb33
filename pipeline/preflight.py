"""Checks, before launch, that the Bigtable table can take the counts.

Without it, a missing table or column family shows up only at the first
write, as Beam's bare "Errors in batch mutations.", after views were read
and acknowledged.
"""

import logging

from google.api_core import exceptions
from google.cloud import bigtable

from transforms import schema

_LOGGER = logging.getLogger(__name__)


class BigtableNotReadyError(RuntimeError):
  """The table or its column family does not exist."""


def check_bigtable_table(project: str, instance: str, table_id: str) -> None:
  """Raises BigtableNotReadyError naming what is missing.

  Reading a table's schema needs Bigtable admin read access; a launcher
  without it gets a warning and the check is skipped.
  """
  table = (
    bigtable.Client(project=project, admin=True)
    .instance(instance)
    .table(table_id)
  )
  where = f'projects/{project}/instances/{instance}/tables/{table_id}'
  try:
    families = table.list_column_families()
  except exceptions.NotFound as e:
    raise BigtableNotReadyError(
      f'Bigtable table {where} does not exist; create it with '
      '`viewcounts provision` or pass the right --bigtable_table_id'
    ) from e
  except (exceptions.PermissionDenied, exceptions.Forbidden) as e:
    _LOGGER.warning('Cannot check the schema of %s: %s', where, e)
    return
  if schema.COLUMN_FAMILY not in families:
    raise BigtableNotReadyError(
      f'Bigtable table {where} has no column family '
      f'"{schema.COLUMN_FAMILY}"; add it with `viewcounts provision`'
    )
