# syntax=docker/dockerfile:1
#
# One dependency closure, two runtime targets. Every Outlay service is the same Python package (`outlay`
# plus `services`), and pyproject.toml declares one set of runtime dependencies for all of them, so a
# per-service image would hold the same files: instead one runtime image is built once, and the command
# picks the service (`outlay services run NAME`). The two targets differ only in their HEALTHCHECK and
# default command, so they share every layer:
#   service  consumers and jobs (ledger, anomaly, forecast, optimizer, generator, metering, topics, migrate)
#   gateway  the HTTP API (the default target)
# Build:  docker build --target service -t outlay-service .   /   docker build -t outlay-gateway .

# --- build: the package and its runtime dependencies in a virtualenv; never the [dev] or [bench] extras.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/outlay
WORKDIR /src
COPY pyproject.toml README.md ./
COPY outlay ./outlay
COPY services ./services
# A regular (non-editable) install, byte-compiled by pip: the runtime needs no source tree. pip and
# setuptools go afterwards: nothing installs packages at run time.
RUN /opt/outlay/bin/pip install . \
 && /opt/outlay/bin/pip uninstall --yes pip setuptools

# --- service: consumers and one-shot jobs. No build tools, no sources, a non-root user.
FROM python:3.11-slim AS service
# A fixed uid, so Kubernetes' runAsUser/runAsNonRoot can name it (USER below names the account).
RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin outlay
COPY --from=build /opt/outlay /opt/outlay
ENV PATH=/opt/outlay/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OUTLAY_API_HOST=0.0.0.0
USER outlay
WORKDIR /home/outlay
# Pure consumers serve no HTTP except Prometheus metrics, and only when OUTLAY_METRICS_PORT is set
# (docker-compose.yml sets it): then the check asks that server, which lives as long as the service's
# process. Without it there is nothing to ask, the check passes, and a crashed consumer is caught by its
# exit (restart policy) instead. Jobs (topics, migrate) finish long before the first check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as u; p = os.environ.get('OUTLAY_METRICS_PORT'); p and u.urlopen(f'http://127.0.0.1:{p}/metrics', timeout=4)"]
ENTRYPOINT ["outlay"]
CMD ["services", "run", "ledger"]

# --- gateway: the HTTP API; /healthz answers while the process serves (/readyz also probes the store and
# the broker, which is the orchestrator's readiness question, not the container's liveness).
FROM service AS gateway
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('OUTLAY_API_PORT', '8000'), timeout=4)"]
CMD ["services", "run", "gateway"]
