# scatterloop in a container: the app (`scatterloop serve`, gunicorn) or a worker (`scatterloop worker`).
#
#   docker build -t scatterloop .                                  # CPU-only torch (a much smaller image)
#   docker build -t scatterloop:cuda --build-arg TORCH=cu124 .     # the CUDA 12.4 build of torch
#   docker run -p 127.0.0.1:8050:8050 -v scatterloop-data:/data scatterloop
#
# The dependencies are installed in layers of their own before the source is copied, so editing the code
# rebuilds only the last layers (torch is not reinstalled). The demo workspace is made on the first start, into
# the volume (docker/entrypoint.sh), never baked into the image. `compose.yaml` runs the distributed set-up.
FROM python:3.11-slim

# cpu, or a CUDA wheel tag of https://download.pytorch.org/whl/ (cu121, cu124, cu126, ...)
ARG TORCH=cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    SCATTERLOOP_WORKSPACE=/data/ws

RUN useradd --create-home --uid 1000 --user-group scatterloop \
 && python -m venv /opt/venv \
 && pip install --upgrade pip

# 1. torch from the PyTorch index of the chosen build (CPU-only by default)
RUN pip install --index-url "https://download.pytorch.org/whl/${TORCH}" torch torchvision

# 2. every other dependency (with the server, postgres and celery extras), read from pyproject.toml alone
WORKDIR /app
COPY pyproject.toml /app/pyproject.toml
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
extras = p['optional-dependencies']; \
print('\n'.join(p['dependencies'] + extras['server'] + extras['postgres'] + extras['celery']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt

# 3. the source, installed (not editable: the image holds the same wheel contents as PyPI) without touching the
#    dependencies above
COPY . /app
RUN pip install --no-deps /app \
 && install -m 0755 /app/docker/entrypoint.sh /usr/local/bin/scatterloop-entrypoint \
 && mkdir -p /data && chown scatterloop:scatterloop /data

USER scatterloop
VOLUME /data
EXPOSE 8050
HEALTHCHECK --interval=30s --timeout=10s --start-period=300s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8050/healthz', timeout=8)"
ENTRYPOINT ["scatterloop-entrypoint"]
# Inside the container the server listens on all interfaces so that a published port reaches it; publish it on
# the host's loopback (`-p 127.0.0.1:8050:8050`), or turn login on (SCATTERLOOP_LOGIN=password) before
# publishing it wider. Without login, binding beyond loopback needs --insecure (see README, "Login").
CMD ["scatterloop", "serve", "--workspace", "/data/ws", "--host", "0.0.0.0", "--port", "8050", "--insecure"]
