"""TerminateOnNaN, LambdaCallback and RemoteMonitor (against a local HTTP server)."""

import http.server
import json
import threading
import urllib.parse

import pytest

from lamina.callbacks import CallbackList, LambdaCallback, RemoteMonitor, TerminateOnNaN


def test_terminate_on_nan_stops_after_the_bad_batch(fake, capsys):
    model = fake.Model()
    losses = {(0, 0): 1.0, (0, 1): float("nan")}
    history = fake.run_fit(model, [TerminateOnNaN()], epochs=3, steps=4,
                           metrics=lambda e, s: {"loss": losses.get((e, s), 0.5)})
    assert model.stop_training and model.steps_run == 2
    assert len(history.epoch) == 1
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out


def test_terminate_on_nan_with_steps_in_groups_and_inf(fake):
    model = fake.Model()
    fake.run_fit(model, [TerminateOnNaN()], epochs=2, steps=6, steps_per_execution=3,
                 metrics=lambda e, s: {"loss": float("inf") if s >= 3 else 1.0})
    assert model.steps_run == 6  # caught at the end of the second group of three


def test_terminate_on_nan_can_raise(fake):
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 0"):
        fake.run_fit(fake.Model(), [TerminateOnNaN(raise_error=True)], epochs=1,
                     metrics=lambda e, s: {"loss": float("nan")})


def test_lambda_callback_calls_the_functions(fake):
    calls = []
    callback = LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_train_batch_end=lambda batch, logs: calls.append(("batch", batch, logs["loss"])),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch)),
        on_train_end=lambda logs: calls.append("train_end"),
        on_test_end=lambda logs: calls.append(("test_end", logs["loss"])))
    fake.run_fit(fake.Model(), [callback], epochs=1, steps=2,
                 metrics=lambda e, s: {"loss": float(s)}, validation=lambda e: {"loss": 9.0})
    assert calls == ["train_begin", ("epoch_begin", 0), ("batch", 0, 0.0), ("batch", 1, 1.0),
                     ("test_end", 9.0), ("epoch_end", 0), "train_end"]


def test_lambda_callback_legacy_batch_hooks_and_errors():
    seen = []
    callback = LambdaCallback(on_batch_end=lambda batch, logs: seen.append(batch))
    CallbackList([callback]).on_train_batch_end(5, {})
    assert seen == [5]
    assert CallbackList([callback]).needs_batch_hooks("train")
    with pytest.raises(TypeError, match=r"unexpected arguments \['on_epoch_ends'\]"):
        LambdaCallback(on_epoch_ends=print)
    with pytest.raises(TypeError, match="on_epoch_end must be a function"):
        LambdaCallback(on_epoch_end=3)


class _Recorder(http.server.BaseHTTPRequestHandler):
    received = None  # a list, set by the `server` fixture

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length).decode()
        type(self).received.append((self.path, self.headers["Content-Type"],
                                    self.headers.get("X-Run"), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Recorder.received = []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Recorder.received
    httpd.shutdown()
    httpd.server_close()


def test_remote_monitor_posts_form_and_json(fake, server):
    root, received = server
    fake.run_fit(fake.Model(), [RemoteMonitor(root=root, headers={"X-Run": "a"})], epochs=1,
                 steps=1)
    fake.run_fit(fake.Model(), [RemoteMonitor(root=root, path="/json", send_as_json=True)],
                 epochs=1, steps=1)
    (path, content_type, run, body), (path2, content_type2, _, body2) = received
    assert (path, content_type, run) == (
        "/publish/epoch/end/", "application/x-www-form-urlencoded", "a")
    assert json.loads(urllib.parse.parse_qs(body)["data"][0]) == {
        "epoch": 0, "loss": 1.0, "mae": 0.5}
    assert (path2, content_type2) == ("/json", "application/json")
    assert json.loads(body2) == {"epoch": 0, "loss": 1.0, "mae": 0.5}


def test_remote_monitor_warns_when_unreachable(fake):
    import socket

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monitor = RemoteMonitor(root=f"http://127.0.0.1:{port}", timeout=2)
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor root server"):
        fake.run_fit(fake.Model(), [monitor], epochs=1, steps=1)
