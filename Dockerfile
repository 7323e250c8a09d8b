# Wegwijs application image. Build: docker build -t wegwijs .
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cases ./cases
COPY console ./console
COPY dialogs ./dialogs
COPY locales ./locales
COPY scheduler ./scheduler
COPY benchmarks ./benchmarks
RUN pip install --no-cache-dir . && useradd --system --uid 10001 wegwijs
USER wegwijs
ENV WEGWIJS_HOST=0.0.0.0 WEGWIJS_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"
CMD ["sh", "-c", "wegwijs db upgrade && exec wegwijs serve"]
