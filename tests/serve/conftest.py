# The PostgreSQL fixtures of the state-store suite, for tests of several replicas.
from tests.state.conftest import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]
