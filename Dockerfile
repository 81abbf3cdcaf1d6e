# bridgekeeper: one image for `serve` (the default), `worker` and `db upgrade`.
#   docker build -t bridgekeeper .
#   docker run --env-file .env -p 3000:3000 -v bridgekeeper-data:/data bridgekeeper
# With no DATABASE_URL the SQLite file is /data/bridgekeeper.db, on the volume.

# Build the wheel from the checkout (hatchling comes from the package index at build time).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
COPY messages ./messages
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=3000 \
    DATABASE_URL=sqlite:////data/bridgekeeper.db
RUN groupadd --system --gid 10001 bridgekeeper \
    && useradd --system --uid 10001 --gid bridgekeeper --home-dir /data --shell /usr/sbin/nologin bridgekeeper \
    && mkdir -p /data \
    && chown bridgekeeper:bridgekeeper /data
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-cache-dir /tmp/wheels/*.whl && rm -rf /tmp/wheels
WORKDIR /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 3000
# No curl in the slim image: the standard library asks /healthz (non-2xx or no answer fails).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${PORT:-3000}/healthz', timeout=4)" || exit 1
CMD ["bridgekeeper", "serve"]
