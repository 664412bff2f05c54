# Production image: front-end assets built with Node, then a slim Python image, non-root.
FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-fund --no-audit --loglevel=error \
 && mkdir -p vendor \
 && cp node_modules/htmx.org/dist/htmx.min.js vendor/ \
 && cp node_modules/htmx.org/dist/ext/hx-sse.min.js vendor/

FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HOST=0.0.0.0 PORT=8000 DATA_DIR=/var/lib/consentir
RUN useradd --system --create-home --home-dir /var/lib/consentir consentir
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY sql ./sql
COPY templates ./templates
COPY locales ./locales
COPY static ./static
COPY --from=assets /build/vendor ./static/vendor
RUN pip install .
USER consentir
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["consentir", "serve"]
