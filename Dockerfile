# syntax=docker/dockerfile:1
#
# The Ledger Bot image: `ledger-bot serve` on port 8080 (/health, /ready, /metrics).
#
#   docker build -t ledger-bot .
#   docker run --read-only --tmpfs /tmp -v ledger-bot-data:/var/lib/ledger-bot \
#       -v "$PWD/docs:/docs:ro" -e LEDGER_BOT_SOURCES=/docs -p 8080:8080 ledger-bot
#
# Runs as UID/GID 1000 on a read-only root filesystem: the only writable paths are
# /var/lib/ledger-bot (the knowledge base and the SQLite state, LEDGER_BOT_DB) and /tmp, both
# meant to be volumes. See deploy/README.md for the Kubernetes manifests built on it.

# ---------------------------------------------------------------------------------------------
# Build stage: a virtual environment in /opt/ledger-bot with every dependency and the package.
FROM python:3.11-slim-bookworm AS build

# The extras the image ships with: Slack, shared PostgreSQL state, both language-model SDKs,
# MCP over HTTP, PDF and reStructuredText documents.
ARG EXTRAS=slack,postgres,openai,anthropic,mcp,pdf,rst

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /build
RUN python -m venv /opt/ledger-bot

# Dependencies first, from pyproject.toml alone: this layer is rebuilt only when the
# dependencies change, not on every change to the source.
COPY pyproject.toml ./
RUN python -c 'import os, tomllib; project = tomllib.load(open("pyproject.toml", "rb"))["project"]; extras = os.environ["EXTRAS"].split(","); print("\n".join(project["dependencies"] + [req for extra in extras for req in project["optional-dependencies"][extra]]))' > requirements.txt \
    && /opt/ledger-bot/bin/pip install --no-cache-dir --requirement requirements.txt

# Then the package itself, without touching the dependencies installed above, and a check
# that they satisfy it.
COPY README.md ./
COPY src ./src
RUN /opt/ledger-bot/bin/pip install --no-cache-dir --no-deps ".[${EXTRAS}]" \
    && /opt/ledger-bot/bin/pip check \
    && /opt/ledger-bot/bin/python -m compileall -q /opt/ledger-bot/lib

# ---------------------------------------------------------------------------------------------
# Runtime stage: the virtual environment on a clean slim Python, no compilers, no source tree.
FROM python:3.11-slim-bookworm

LABEL org.opencontainers.image.title="Ledger Bot" \
      org.opencontainers.image.description="A self-hosted Slack knowledge bot that answers from your own docs, with citations." \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --gid 1000 ledger-bot \
    && useradd --uid 1000 --gid 1000 --no-create-home --home-dir /tmp \
        --shell /usr/sbin/nologin ledger-bot \
    && install --directory --owner=1000 --group=1000 --mode=0750 /var/lib/ledger-bot

COPY --from=build /opt/ledger-bot /opt/ledger-bot

# Bytecode was compiled at build time; nothing may be written beside the code at run time.
ENV PATH=/opt/ledger-bot/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    LEDGER_BOT_DB=/var/lib/ledger-bot/knowledge.db \
    LEDGER_BOT_HOST=0.0.0.0 \
    LEDGER_BOT_PORT=8080 \
    LEDGER_BOT_LOG_FORMAT=json

# An empty, read-only working directory: no `.env` file can appear in it.
WORKDIR /app
VOLUME ["/var/lib/ledger-bot", "/tmp"]
USER 1000:1000
EXPOSE 8080

# Liveness for plain Docker (Kubernetes uses the Deployment's probes instead). No curl in
# the image: Python's urllib fails on anything but a 2xx, which exits non-zero.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('LEDGER_BOT_PORT', '8080') + '/health', timeout=4)"]

ENTRYPOINT ["ledger-bot"]
CMD ["serve", "--no-console"]
