# syntax=docker/dockerfile:1.7
# Both binaries of the workspace, built once, shipped in two small non-root images:
#   docker build --target api -t bookstore-api .
#   docker build --target operator -t bookstore-operator .

ARG RUST_VERSION=1.95
ARG VERSION=0.1.0

FROM rust:${RUST_VERSION}-slim-bookworm AS builder
WORKDIR /src

# Dependencies first, from the manifests alone, so that a source change does not rebuild them.
# Every target a manifest declares by path must exist (cargo refuses the manifest otherwise):
# stubs here, the real files below.
COPY Cargo.toml Cargo.lock ./
COPY bookstore-api/Cargo.toml bookstore-api/
COPY operator/Cargo.toml operator/
COPY telemetry/Cargo.toml telemetry/
COPY contract/Cargo.toml contract/
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    mkdir -p bookstore-api/src operator/src operator/benches telemetry/src contract/src \
 && echo 'fn main() {}' > bookstore-api/src/main.rs && touch bookstore-api/src/lib.rs \
 && echo 'fn main() {}' > operator/src/main.rs && touch operator/src/lib.rs \
 && echo 'fn main() {}' > operator/benches/converge.rs \
 && touch telemetry/src/lib.rs contract/src/lib.rs \
 && cargo build --release --locked --workspace \
 && rm -rf bookstore-api/src operator/src operator/benches telemetry/src contract/src

# Then the sources (migrations and the web page are compiled into the API binary).
COPY bookstore-api/src bookstore-api/src
COPY bookstore-api/migrations bookstore-api/migrations
COPY bookstore-api/web bookstore-api/web
COPY operator/src operator/src
COPY operator/benches operator/benches
COPY telemetry/src telemetry/src
COPY contract/src contract/src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    touch bookstore-api/src/main.rs bookstore-api/src/lib.rs operator/src/main.rs operator/src/lib.rs \
          telemetry/src/lib.rs contract/src/lib.rs \
 && cargo build --release --locked --workspace --bins

# Distroless: glibc and CA certificates, no shell; `nonroot` is uid/gid 65532, the user the
# operator's pods run as.
FROM gcr.io/distroless/cc-debian12:nonroot AS api
ARG VERSION
LABEL org.opencontainers.image.title="bookstore-api" \
      org.opencontainers.image.description="HTTP API for the book catalogue" \
      org.opencontainers.image.source="https://github.com/bookstore-dev/bookstore-operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /src/target/release/bookstore-api /usr/local/bin/bookstore-api
USER 65532:65532
WORKDIR /home/nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/bookstore-api"]
CMD ["serve"]

FROM gcr.io/distroless/cc-debian12:nonroot AS operator
ARG VERSION
LABEL org.opencontainers.image.title="bookstore-operator" \
      org.opencontainers.image.description="Kubernetes operator for Bookstore resources" \
      org.opencontainers.image.source="https://github.com/bookstore-dev/bookstore-operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /src/target/release/bookstore-operator /usr/local/bin/bookstore-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/bookstore-operator"]
CMD ["run"]
