# The app and the loader, for docker-compose.yml (Redis runs in its own container there).
FROM python:3.11-slim

WORKDIR /app
ENV PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HOST=0.0.0.0 PORT=5000

# torch first and pinned, from PyTorch's CPU wheel index: the default PyPI build pulls
# several GB of CUDA libraries that a CPU-only container never uses.
COPY requirements.txt .
RUN pip install --no-cache-dir "$(grep -E '^torch==' requirements.txt)" --index-url https://download.pytorch.org/whl/cpu \
 && pip install --no-cache-dir -r requirements.txt

COPY finder finder
COPY app app
COPY indexer indexer
COPY templates templates
COPY static static

# Export the models to ONNX once, at build time, so containers start ready to embed.
RUN python -c "from finder.config import Settings; from finder.embeddings import Embedder; \
Embedder.from_settings(Settings()).warm_up()"

EXPOSE 5000
CMD ["gunicorn", "--config", "python:app.gunicorn_config", "app:create_app()"]
