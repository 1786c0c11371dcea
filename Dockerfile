# The app under gunicorn, built the way the Makefile builds it: venv, editable install, demo workspace.
FROM python:3.11-slim
WORKDIR /app
COPY . /app
RUN python -m venv /app/.venv \
 && /app/.venv/bin/pip install --no-cache-dir --upgrade pip \
 && /app/.venv/bin/pip install --no-cache-dir -e '.[server]'
ENV SCATTERLOOP_WORKSPACE=/data/demo-workspace
RUN /app/.venv/bin/scatterloop demo --workspace /data/demo-workspace --no-serve --quiet
VOLUME /data
EXPOSE 8050
# Inside the container the server must listen on all interfaces for `docker run -p 127.0.0.1:8050:8050`
# to reach it; publish the port on the host's loopback, as the command above does.
CMD ["/app/.venv/bin/gunicorn", "--workers", "1", "--threads", "4", "--timeout", "120", \
     "--bind", "0.0.0.0:8050", "dashboard.wsgi:server"]
