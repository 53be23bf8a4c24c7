# syntax=docker/dockerfile:1

# Parklot's worker image: parklot-worker (the entrypoint) and the parklot CLI.
#
#   docker build -t parklot-worker .
#   docker run -v $PWD/deploy/parklot.yaml:/etc/parklot/config.yaml:ro \
#     -e TEMPORAL_ADDRESS=temporal.example.com:7233 -e PARKLOT_POSTGRES_DSN=... parklot-worker
#
# docker-compose.yml builds and runs it; docs/OPERATIONS.md has the details.

# --- build -------------------------------------------------------------------
# The Go release must be at least the `go` line of go.mod (1.26.8): the golang
# image sets GOTOOLCHAIN=local, so an older one stops the build instead of
# downloading a toolchain. The build runs on the builder's own platform and
# cross-compiles, which is quick because nothing needs cgo.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build

WORKDIR /src
ENV CGO_ENABLED=0

# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags="-s -w" -o /parklot-worker ./workers && \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags="-s -w" -o /parklot ./starter

# The working directory of the runtime image, owned by its user: relative file
# store paths in a config (backend: file) land here; mount a volume on it to
# keep them.
RUN mkdir -p /rootfs/var/lib/parklot

# --- runtime -----------------------------------------------------------------
# distroless/static: CA certificates (TLS to Temporal Cloud), /etc/passwd with
# a non-root user, and nothing else. Both binaries are static and carry their
# own time zone data. It has no shell: the compose file gives the workers no
# healthcheck for that reason (nothing waits on them; /health is probed from
# outside), and its one-shot shell step runs in Temporal's admin-tools image.
FROM gcr.io/distroless/static-debian12:nonroot

COPY --from=build /parklot-worker /parklot /usr/local/bin/
COPY --from=build --chown=65532:65532 /rootfs/var/lib/parklot /var/lib/parklot

WORKDIR /var/lib/parklot
# nonroot (65532:65532), spelled out so the image says who it runs as.
USER 65532:65532

# /health and /metrics, when the config or PARKLOT_HTTP_ADDRESS puts the
# listener on 0.0.0.0:8080 (the built-in default is 127.0.0.1:8080, which
# nothing outside the container can reach).
EXPOSE 8080

ENTRYPOINT ["/usr/local/bin/parklot-worker"]
CMD ["run", "--config", "/etc/parklot/config.yaml"]
