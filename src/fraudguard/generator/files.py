"""Write a transaction stream to Parquet or JSON Lines without leaving half a file behind.

Rows are written chunk by chunk to a temporary name in the target directory, which is
renamed over the target only when every chunk is written; on any error it is removed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow.parquet as pq

from fraudguard.errors import DataFormatError, SinkError
from fraudguard.generator.columns import Columns
from fraudguard.records import TRANSACTION_SCHEMA

FILE_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def file_format(path: Path) -> str:
    """``parquet`` or ``jsonl`` from the file suffix; :class:`DataFormatError` otherwise."""
    fmt = FILE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataFormatError(f"cannot tell the output format of {path}: use a .parquet or .jsonl file name")
    return fmt


def write_transactions(chunks: Iterable[Columns], path: Path, on_chunk: Callable[[int], None] | None = None) -> int:
    """Write every chunk to ``path`` (format from its suffix); return the number of rows.

    ``on_chunk(rows)`` is called after each chunk (progress display).
    """
    fmt = file_format(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise SinkError(f"output directory {directory} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    rows = 0
    try:
        if fmt == "parquet":
            writer: pq.ParquetWriter | None = None
            try:
                for chunk in chunks:
                    table = chunk.to_arrow()
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
                    writer.write_table(table)
                    rows += len(chunk)
                    if on_chunk:
                        on_chunk(len(chunk))
            finally:
                if writer is not None:
                    writer.close()
            if writer is None:  # no rows: still a valid, empty file
                pq.write_table(TRANSACTION_SCHEMA.empty_table(), tmp)
        else:
            with tmp.open("wb") as f:
                for chunk in chunks:
                    lines = chunk.encode()
                    if lines:
                        f.write(b"\n".join(lines))
                        f.write(b"\n")
                    rows += len(chunk)
                    if on_chunk:
                        on_chunk(len(chunk))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a data file should follow the umask
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise SinkError(f"cannot write {path}: {e}") from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows
