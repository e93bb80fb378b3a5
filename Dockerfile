# syntax=docker/dockerfile:1
# Docket's image: built in three stages so that the dependency layer is cached apart from the
# sources (cargo-chef), and the runtime holds the binary and nothing that built it (distroless,
# glibc only: Docket links no libpq and no OpenSSL), running as a non-root user.
#
#   docker build --build-arg GIT_REVISION=$(git describe --always --abbrev=12) -t docket .
#   docker run -e DATABASE_URL=postgres://... -p 50051:50051 -p 9090:9090 docket

FROM rust:1.95-slim-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

# The recipe changes only when Cargo.toml or Cargo.lock do.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
# The image has no .git: `docket --version` shows the revision given here.
ARG GIT_REVISION=unknown
ENV DOCKET_GIT_REVISION=${GIT_REVISION}
RUN cargo build --release --locked --bin docket \
    && install -D -m 0755 target/release/docket /out/docket

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=builder /out/docket /usr/local/bin/docket
# distroless's nonroot user, by number so that Kubernetes can check runAsNonRoot.
USER 65532:65532
# gRPC, and Prometheus metrics on a port of their own.
EXPOSE 50051 9090
ENV DOCKET_LISTEN=0.0.0.0:50051 \
    DOCKET_METRICS_LISTEN=0.0.0.0:9090 \
    DOCKET_LOG_FORMAT=json
ENTRYPOINT ["/usr/local/bin/docket"]
CMD ["serve"]
