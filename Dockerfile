# syntax=docker/dockerfile:1
#
# stream-echo in a minimal container: compile the single binary with Deno, run it on
# distroless/cc (glibc + libgcc, no shell, no Deno, no Node).
#
#   docker build -t stream-echo .
#   docker run --rm -p 1234:1234 stream-echo                       # the built-in example, on 0.0.0.0
#   docker run --rm -p 9000:9000 -v "$PWD/se.conf:/etc/stream-echo/stream-echo.conf:ro" stream-echo
#   docker kill -s HUP <container>                                 # reload the config
#
# `docker stop` sends SIGTERM (fast shutdown, exit 0); use `--stop-signal SIGQUIT` with
# `--stop-timeout` for a graceful one.

ARG DENO_VERSION=2.9.6

FROM denoland/deno:${DENO_VERSION} AS build
WORKDIR /src
COPY deno.json ./
COPY cli.ts mod.ts ./
COPY src ./src
# Keep the permissions in step with deno.json's "compile" task.
RUN deno compile --allow-net --allow-read --allow-write --allow-ffi --unstable-net --no-prompt \
      --output /out/stream-echo cli.ts \
 && /out/stream-echo --version

# The container's default config: the module README's example 1, listening on every address
# (127.0.0.1 inside a container is unreachable from outside it).
COPY <<CONF /out/stream-echo.conf
stream {
    server {
        listen 1234;

        echo_send_timeout   10s;

        echo "Hello, world!";
        echo I really like doing downstream TCP;
    }
}
CONF
RUN /out/stream-echo check -c /out/stream-echo.conf

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/stream-echo /usr/local/bin/stream-echo
COPY --from=build /out/stream-echo.conf /etc/stream-echo/stream-echo.conf
USER nonroot
EXPOSE 1234
ENTRYPOINT ["/usr/local/bin/stream-echo"]
CMD ["serve", "--config", "/etc/stream-echo/stream-echo.conf"]
