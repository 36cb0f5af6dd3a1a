"""What both streaming engines share, so neither imports the other's internals.

Modules: ``lifecycle`` (signals stop an engine gracefully), ``retry`` (which failures are
retried, the back-off, the retry loop), ``models`` (the model in service: loaded from
``CURRENT`` with a clear error when there is none, switched at batch boundaries).

The local engine (``engines/local``) and the Spark engine (``engines/spark``) import from
here; nothing here imports either of them.
"""
