"""FraudGuard: real-time credit-card fraud detection on Kafka, with a local and a Spark engine.

The package is split into a pure scoring core (``schema``, ``features``, ``models``) that
imports no I/O library, and adapters at the edge (``io``, ``engines``, ``api``, ``cli``).
"""

__version__ = "0.1.0"
