"""``barenet serve``: a drawing page and a JSON API around a model (FastAPI on uvicorn).

``POST /api/predict`` takes an image (JSON with a data URL or base64, or a multipart upload),
runs the same preprocessing as ``barenet predict`` and answers the digit, the probabilities and
the 28x28 grid the network saw. Every bad request gets a JSON ``{"error": ...}`` with a status
that says what kind of problem it was; nothing a client sends can make it answer 500.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import threading
from importlib import resources
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from barenet import __version__
from barenet.errors import BlankImageError, ImageError, ImageTooLargeError, NotAnImageError
from barenet.imaging import open_grayscale, to_mnist
from barenet.model import Sequential

MAX_BODY_BYTES = 2 * 1024 * 1024  # 2 MB: a canvas PNG is ~10 kB, a phone photo ~2-4 MB
MAX_PIXELS = 16_000_000  # 16 megapixels, checked before decoding


class ApiError(Exception):
    """A client error, answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class PredictRequest(BaseModel):
    image: str = Field(description="A data URL (data:image/png;base64,...) or base64 PNG/JPEG.")


class Prediction(BaseModel):
    digit: int = Field(description="The most probable class.")
    probabilities: list[float] = Field(description="One probability per class, summing to 1.")
    input28: list[list[int]] = Field(description="The 28x28 grey levels (0-255) the model saw.")


class ModelInfo(BaseModel):
    name: str
    architecture: list[str] = Field(description="The layers, input to output.")
    parameters: int
    classes: int
    preset: str | None
    training_data: str | None
    test_accuracy: float | None


class ErrorMessage(BaseModel):
    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorMessage, "description": description}
    for status, description in [
        (400, "Malformed JSON or base64, or damaged image data"),
        (413, "Body over 2 MB, or an image over the pixel limit"),
        (415, "Not an image, or not JSON / multipart"),
        (422, "No ink found: a blank drawing"),
    ]
}

PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": PredictRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


class BodySizeLimit:
    """ASGI middleware answering 413 to a request body over ``limit`` bytes, whether announced
    by Content-Length or only found while streaming; the rest of it is never read."""

    class TooLarge(Exception):
        pass

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"The request body is over the limit of {self.limit // (1024 * 1024)} MB."
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await JSONResponse({"error": message}, 413)(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            incoming = await receive()
            received += len(incoming.get("body", b""))
            if received > self.limit:
                raise BodySizeLimit.TooLarge
            return incoming

        async def tracking_send(outgoing: Message) -> None:
            nonlocal started
            started = started or outgoing["type"] == "http.response.start"
            await send(outgoing)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodySizeLimit.TooLarge:
            if not started:
                await JSONResponse({"error": message}, 413)(scope, receive, send)


def decode_base64_image(text: str) -> bytes:
    """The bytes of a data URL (``data:image/png;base64,...``) or of plain base64."""
    if text.startswith("data:"):
        header, comma, text = text.partition(",")
        if not comma or not header.endswith(";base64"):
            raise ApiError(400, "The data URL must be base64: data:image/png;base64,<data>.")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "The image is not valid base64.") from None


def model_info(model: Sequential, name: str) -> ModelInfo:
    metadata = model.metadata
    classes = model.predict(np.zeros((1, 28, 28), np.uint8)).shape[1]
    return ModelInfo(
        name=name,
        architecture=[repr(layer) for layer in model.layers],
        parameters=sum(param.size for _, param, _ in model.parameters()),
        classes=classes,
        preset=metadata.get("preset"),
        training_data=(metadata.get("data") or {}).get("source"),
        test_accuracy=(metadata.get("metrics") or {}).get("test_accuracy"),
    )


def create_app(model: Sequential, name: str) -> FastAPI:
    """The web application serving ``model`` (called ``name`` on the page)."""
    app = FastAPI(
        title="barenet",
        version=__version__,
        description="Read handwritten digits with a NumPy neural network.",
    )
    app.add_middleware(BodySizeLimit, limit=MAX_BODY_BYTES)
    info = model_info(model, name)
    lock = threading.Lock()  # layers cache their inputs in forward(): one prediction at a time
    static = resources.files("barenet") / "static"

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse({"error": error.message}, error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        return JSONResponse({"error": f"Invalid request: {first.get('msg', error)}."}, 400)

    def predict_digit(data: bytes) -> Prediction:
        try:
            gray = open_grayscale(io.BytesIO(data), MAX_PIXELS, name="The image")
            digit = to_mnist(gray, name="The image")
        except ImageTooLargeError as error:
            raise ApiError(413, str(error)) from None
        except NotAnImageError as error:
            raise ApiError(415, str(error)) from None
        except BlankImageError as error:
            raise ApiError(422, str(error)) from None
        except ImageError as error:
            raise ApiError(400, str(error)) from None
        with lock:
            probabilities = model.predict_proba(digit[np.newaxis])[0]
        return Prediction(
            digit=int(probabilities.argmax()),
            probabilities=[round(float(p), 6) for p in probabilities],
            input28=digit.tolist(),
        )

    @app.post(
        "/api/predict", response_model=Prediction, responses=ERRORS, openapi_extra=PREDICT_BODY
    )
    async def predict(request: Request) -> Prediction:
        """Read the digit in an image: JSON ``{"image": ...}`` or a multipart ``file``."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "multipart/form-data":
            form = await request.form()
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise ApiError(400, "The multipart form needs an image file in the field 'file'.")
            data = await upload.read()
        elif content_type == "application/json":
            try:
                payload = json.loads(await request.body())
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise ApiError(400, "The body is not valid JSON.") from None
            if not isinstance(payload, dict) or not isinstance(payload.get("image"), str):
                raise ApiError(400, 'The JSON must be an object {"image": "<data URL or base64>"}.')
            data = decode_base64_image(payload["image"])
        else:
            raise ApiError(
                415, 'Send JSON {"image": "<data URL>"} or a multipart/form-data file upload.'
            )
        if not data:
            raise ApiError(400, "The image is empty.")
        return await run_in_threadpool(predict_digit, data)

    @app.get("/api/model", response_model=ModelInfo)
    async def get_model() -> ModelInfo:
        """The model being served: its layers, training data and test accuracy."""
        return info

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(static / "index.html"))

    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app
