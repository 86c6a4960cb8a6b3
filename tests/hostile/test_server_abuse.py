"""A bounded loopback abuse test of `barenet serve`: 16 concurrent uploads of the largest image
it accepts, with the server's peak memory measured (not guessed), then its host, origin and
header rules seen from outside. Traffic goes to 127.0.0.1 only; every loop is bounded."""

import base64
import io
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image, ImageDraw

PEAK_LIMIT_MB = 1024  # the target for 16 concurrent largest-allowed uploads
UPLOADS = 16


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def largest_image_body() -> bytes:
    """A 4000x4000 RGBA PNG (16 MP, the server's limit) of a stroke, as a JSON data URL."""
    image = Image.new("RGBA", (4000, 4000), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(900, 600), (3100, 3400)], fill=(0, 0, 0, 255), width=220)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return json.dumps({"image": data_url}).encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    command = [sys.executable, "-m", "barenet", "serve", "--model", "mlp", "--port", str(port)]
    log = tmp_path_factory.mktemp("serve") / "server.log"
    with log.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    process.log = log
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):  # up to 30 s to start
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    yield url, process
    process.terminate()
    process.wait(timeout=10)


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for peak memory")
def test_concurrent_largest_uploads_stay_under_the_memory_limit(server):
    url, process = server
    body = largest_image_body()

    def upload(_):
        request = urllib.request.Request(
            f"{url}/api/predict", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())

    with ThreadPoolExecutor(UPLOADS) as pool:
        answers = list(pool.map(upload, range(UPLOADS)))
    assert all(status == 200 and len(reply["probabilities"]) == 10 for status, reply in answers)
    peak = peak_rss_mb(process.pid)
    print(f"server peak RSS after {UPLOADS} concurrent 16 MP uploads: {peak:.0f} MB")
    assert peak < PEAK_LIMIT_MB


def test_host_origin_and_headers_from_outside(server):
    url, _ = server

    def status(path, headers, data=None):
        request = urllib.request.Request(url + path, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.headers

    code, headers = status("/", {"Host": "evil.example"})
    assert code == 400 and headers["X-Content-Type-Options"] == "nosniff"
    body = json.dumps({"image": ""}).encode()
    code, _ = status(
        "/api/predict",
        {"Origin": "http://evil.example", "Content-Type": "application/json"},
        body,
    )
    assert code == 403
    code, headers = status("/", {})
    assert code == 200 and "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_a_client_that_disconnects_mid_upload_is_one_log_line(server):
    url, process = server
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(
            b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n" + b"{" * 100
        )  # then hang up with most of the body unsent
    time.sleep(1.0)
    assert urllib.request.urlopen(f"{url}/healthz", timeout=5).status == 200  # still serving
    assert "Traceback" not in process.log.read_text()
