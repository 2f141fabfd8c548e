"""`RemoteMonitor`: posts each epoch's logs to an HTTP server."""

import json
import warnings

import numpy as np

from lamina.callbacks.callback import Callback


class RemoteMonitor(Callback):
    """Sends the epoch logs to a server with an HTTP POST at the end of each epoch.

    The payload is a JSON object with `epoch` and every log value. By default it is sent as
    a form field (`field=<json>`, as Keras does); `send_as_json=True` sends it as the JSON
    request body instead. An unreachable server gives a warning, not an error. Uses only the
    standard library (`urllib`).

    Args:
        root: the server's root URL. Defaults to `"http://localhost:9000"`.
        path: the path appended to `root`. Defaults to `"/publish/epoch/end/"`.
        field: the form field holding the JSON. Defaults to `"data"`.
        headers: extra HTTP headers, a dict. Defaults to None.
        send_as_json: send the JSON as the request body. Defaults to False.
        timeout: seconds to wait for the server (a lamina addition; Keras waits without
            limit). Defaults to 10.

    Examples:
        >>> monitor = RemoteMonitor(root="http://127.0.0.1:9000", send_as_json=True)
        >>> # model.fit(x, y, callbacks=[monitor])
    """

    _sparse_batch_hooks = True

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False, timeout=10.0):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json
        self.timeout = timeout

    def on_epoch_end(self, epoch, logs=None):
        import urllib.error
        import urllib.parse
        import urllib.request

        send = {"epoch": epoch}
        for key, value in (logs or {}).items():
            send[key] = value.item() if isinstance(value, (np.ndarray, np.generic)) else value
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(send).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode("utf-8")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}",
                          stacklevel=2)
