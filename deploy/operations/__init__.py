"""The operator's commands for running the system day to day, each a module registered in
deploy/cli.py: ``config check`` (config_check.py), ``outbox`` and ``inbox`` (events.py),
``messages`` and ``webhooks`` (deliveries.py), ``backup`` and ``restore`` (backup.py),
``export`` (export.py). What they share is in common.py; the rules they apply live in the
domain functions they call (shared/outbox.py, shared/inbox.py, services/notify/...)."""
