# One image for every process; the command picks it: oms gateway | oms admin | oms venue-sim | ...
# Build: docker build -t oms .      Run: docker compose up (see compose.yaml)

# ---- builder: compile the quickfix wheel (about 8 minutes) and every other wheel -------------
FROM python:3.11-slim-bookworm AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential=12.9 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY oms ./oms
COPY fix_gateway ./fix_gateway
RUN pip wheel --wheel-dir /wheels "quickfix==1.16.0" \
    && pip wheel --wheel-dir /wheels --find-links /wheels .

# ---- runtime: no compiler, non-root user ----------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    OMS_CONFIG=/app/config/oms.toml OMS_MIGRATIONS_DIR=/app/migrations
RUN groupadd --system --gid 10001 oms \
    && useradd --system --uid 10001 --gid oms --home-dir /app --shell /usr/sbin/nologin oms
WORKDIR /app
COPY --from=builder /wheels /wheels
RUN pip install --no-index --find-links /wheels oms==0.1.0 && rm -rf /wheels
COPY --chown=oms:oms alembic.ini ./
COPY --chown=oms:oms migrations ./migrations
COPY --chown=oms:oms config ./config
RUN mkdir -p /app/var && chown oms:oms /app/var
USER 10001:10001
EXPOSE 8000 9108 9109 9876 9880
# Each process answers its own health check: the gateway on 9109, the admin pages on 8000.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["oms", "health"]
ENTRYPOINT ["oms"]
CMD ["gateway"]
