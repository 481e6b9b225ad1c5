FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY storage storage
COPY bot bot
COPY api api
COPY scheduler scheduler
COPY cli cli
COPY telemetry telemetry
COPY data data
RUN pip install --no-cache-dir . && useradd --system --home /app gopy && mkdir -p /app/var && chown gopy /app/var
USER gopy
EXPOSE 8000
CMD ["gopy", "api"]
