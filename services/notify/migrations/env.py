import services.notify.webhooks.models  # noqa: F401  (its tables are in Base.metadata too)
from services.notify.models import Base
from shared.alembic_env import run_migrations

run_migrations(Base.metadata)
