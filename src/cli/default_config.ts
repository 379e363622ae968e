/**
 * The config served when `stream-echo serve` gets no `--config`: the module README's
 * "Example 1", on 127.0.0.1 so that it is not reachable from other hosts. Compiled into the
 * binary as a string; nothing is read from disk.
 *
 * @module
 */

/** The name the built-in config goes by in log lines and error positions. */
export const DEFAULT_CONFIG_NAME = "<built-in>";

/** The built-in default config text. */
export const DEFAULT_CONFIG = `# stream-echo's built-in default (the module README's example 1)
stream {
    server {
        listen 127.0.0.1:1234;

        echo_send_timeout   10s;

        echo "Hello, world!";
        echo I really like doing downstream TCP;
    }
}
`;
