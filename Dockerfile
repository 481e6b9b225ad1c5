FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# Exactly the pinned, hash-checked runtime versions (requirements.lock, see `make lock`), then Gopy itself
# without resolving anything again.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY core core
COPY storage storage
COPY formats formats
COPY bot bot
COPY api api
COPY scheduler scheduler
COPY cli cli
COPY telemetry telemetry
COPY data data
RUN pip install --no-cache-dir --no-deps . && pip check && useradd --system --home /app gopy && mkdir -p /app/var && chown gopy /app/var
USER gopy
EXPOSE 8000
CMD ["gopy", "api"]
