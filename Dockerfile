# One image for every Tessera process (compose.yaml picks the binary with `command`):
# api-gateway, ticket-service, notify-service, export-service, db (migrations) and tessera
# (all in one).

FROM rust:1.95-bookworm AS build
# aws-lc-sys (TLS for the federation engine's HTTP client) builds with cmake.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --workspace --bins \
 && mkdir /out \
 && cp target/release/api-gateway target/release/ticket-service target/release/notify-service \
       target/release/export-service target/release/db target/release/tessera /out/

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data tessera \
 && mkdir /data \
 && chown tessera /data
COPY --from=build /out/ /usr/local/bin/
USER tessera
# Containers listen on every interface; the data dir is the shared volume.
ENV BIND=0.0.0.0 DATA_DIR=/data
VOLUME /data
EXPOSE 8080
CMD ["tessera"]
