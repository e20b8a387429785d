# One image for every Outlay service; the command picks the service (`outlay services run NAME`).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY outlay ./outlay
COPY services ./services
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 outlay
COPY --from=build /install /usr/local
USER outlay
WORKDIR /home/outlay
ENV PYTHONUNBUFFERED=1 OUTLAY_API_HOST=0.0.0.0
EXPOSE 8000
ENTRYPOINT ["outlay"]
CMD ["services", "run", "gateway"]
