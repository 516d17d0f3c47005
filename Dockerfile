# podgate's image: a wheel built in one stage, installed into a clean slim Python in the next.
# The final stage has no compiler, no pip, no source tree: only the installed package, run as a non-root
# numeric user (so runAsNonRoot can verify it) on a read-only root filesystem (bytecode is compiled at
# build time; nothing is written at run time but gunicorn's heartbeat files in the /tmp emptyDir).
#   docker build -t ghcr.io/podgate/podgate:0.1.0 .
ARG PYTHON=3.12-slim-bookworm

FROM python:${PYTHON} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY webhook ./webhook
COPY policies ./policies
# Every dependency as a wheel, so the final stage installs offline and needs no build tools.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:${PYTHON}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels podgate \
    && pip uninstall -y pip setuptools wheel
USER 65532:65532
WORKDIR /tmp
EXPOSE 8443
ENTRYPOINT ["podgate"]
CMD ["serve", "--bind=0.0.0.0:8443"]
