# IncidentWatch bot image. Build: `docker build -t incidentwatch:local .`
# (on Minikube: `minikube image build -t incidentwatch:local .`).

# --- build stage: the dependencies, in a layer that changes only with requirements.txt -------
FROM python:3.11.14-slim-bookworm AS deps

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /build
COPY requirements.txt .
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt

# --- runtime stage: the venv, the package, a non-root user ----------------------------------
FROM python:3.11.14-slim-bookworm

LABEL org.opencontainers.image.title="IncidentWatch" \
      org.opencontainers.image.description="Slack incident bot with Prometheus metrics"

# The pod writes nothing to disk (REDIS_URL is set in the cluster; readOnlyRootFilesystem).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    HOME=/tmp \
    HOST=0.0.0.0 \
    PORT=3000 \
    METRICS_PORT=9100

RUN groupadd --system --gid 10001 incidentwatch \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin incidentwatch

WORKDIR /app
COPY --from=deps /opt/venv /opt/venv
COPY bot/ /app/bot/

USER 10001:10001

# 3000: Slack events in HTTP mode (and /api/v1); 9100: /metrics, /healthz, /readyz.
EXPOSE 3000 9100

# Liveness of the process, without curl: the image's own Python asks the side server.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('METRICS_PORT', '9100'), timeout=4)"]

ENTRYPOINT ["python", "-m", "bot"]
