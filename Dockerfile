# The CardForge application image (web, worker, beat and encoder-station workers).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends \
      gcc libpcsclite-dev libpcsclite1 pcscd libpango-1.0-0 libpangoft2-1.0-0 \
      libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --system --home /var/lib/cardforge cardforge && mkdir -p /var/lib/cardforge \
    && chown cardforge /var/lib/cardforge
USER cardforge
EXPOSE 8000
