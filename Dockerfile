# One image for every wirewatch process (ingest, process, dispatch, tail...).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY wirewatch ./wirewatch
COPY ingest ./ingest
COPY processors ./processors
COPY alerts ./alerts
RUN pip install --no-cache-dir . && useradd --create-home wirewatch && mkdir -p /app/var \
    && chown wirewatch /app/var
USER wirewatch
# config/ is mounted read-only by docker-compose.yml; var/ holds alerts.jsonl and Faust state.
ENTRYPOINT ["wirewatch"]
CMD ["--help"]
