"""A file server on 127.0.0.1 for download tests: counts requests and can misbehave on purpose."""

import collections
import http.server
import socket
import threading


class LocalServer:
    """Serves `files` (URL path -> bytes) on a free port of 127.0.0.1 from a background thread.

    `requests` counts GETs per path; paths in `truncate` announce their full length but send
    only half the bytes, then close the connection.
    """

    def __init__(self):
        self.files = {}
        self.requests = collections.Counter()
        self.truncate = set()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests[self.path] += 1
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in server.truncate:
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                else:
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}/"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def add(self, name, body):
        """Publishes `body` at `<base><name>` and returns that URL."""
        self.files["/" + name] = body
        return self.base + name

    def count(self, name):
        return self.requests["/" + name]

    def total_requests(self):
        return sum(self.requests.values())

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def refused_url(name="file.bin"):
    """A URL on 127.0.0.1 where nothing listens, so connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"
