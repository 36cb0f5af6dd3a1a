"""Where predictions and rejected messages go: one contract, one delivery path.

``base`` holds the :class:`~fraudguard.io.sinks.base.Sink` protocol; ``postgres``,
``parquet``, ``kafka``, ``dlq`` and ``challenger`` the implementations.
"""
