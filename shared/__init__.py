"""The common package: configuration, the event catalog, Celery, database, outbox and inbox.

Every service depends on this package; it depends on no service.
"""
