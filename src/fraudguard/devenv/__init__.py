"""The development environment: services, a fresh database schema and a model, set up one way.

The tests (``tests/fixtures/``), ``fraudguard bench`` (``bench/env.py``) and ``fraudguard
demo`` (``cli/demo.py``) all need the same things on a developer's machine: a Kafka
protocol broker, PostgreSQL, sometimes Redis, an isolated place to write (own topics,
consumer group, database schema, state directory) and a trained model. Each used to start
them its own way; they now share these modules:

``services``   the embedded Tansu broker or an Apache Kafka cluster; PostgreSQL (the one
               configured, the local server, else an embedded one)
``redis``      a memory-only ``redis-server`` on a free port
``schemas``    a fresh, empty PostgreSQL schema and a URL whose sessions use it
``workspace``  settings of one isolated run: unique topics and group, a private state
               directory holding the registry, topics created
``registry``   a model trained on generated transactions when the registry has none

Nothing here is imported by the product's own code paths (engines, API): it is the
scaffolding around them. Everything started has a ``stop()``; callers stop what they started.
"""
