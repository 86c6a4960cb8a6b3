"""The web application of ``barenet serve``: a drawing page and a JSON API around a model.

``POST /api/predict`` takes an image (JSON with a data URL or base64, or a multipart upload),
reads it with ``digits.reading.read_digit`` (the preprocessing of ``barenet predict``) and answers
the digit, the probabilities and the 28x28 grid the network saw. ``POST /api/explain`` takes the
same body and adds every layer's output and the saliency map (``web/inside.py``). Every bad
request gets a JSON ``{"error": ...}`` with a status that says what kind of problem it was;
nothing a client sends can make it answer 500.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from barenet.digits.imaging import (
    BlankImageError,
    ImageError,
    ImageTooLargeError,
    NotAnImageError,
)
from barenet.digits.reading import explain_digit, read_digit
from barenet.model import Sequential
from barenet.version import __version__
from barenet.web.guards import RequestGuard
from barenet.web.inside import explanation_json
from barenet.web.limits import MAX_BODY_BYTES, BodySizeLimit
from barenet.web.schemas import ERRORS, PREDICT_BODY, ExplainAnswer, ModelInfo, Prediction

MAX_PIXELS = 16_000_000  # 16 megapixels, checked before decoding
STATUS_OF_IMAGE_ERROR = {ImageTooLargeError: 413, NotAnImageError: 415, BlankImageError: 422}


class ApiError(Exception):
    """A client error, answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


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


async def image_bytes(request: Request) -> bytes:
    """The image in a request: a multipart ``file``, or JSON ``{"image": "<data URL>"}``."""
    try:
        return await _read_image_bytes(request)
    except ClientDisconnect:  # the client went away mid-upload: one log line, no traceback
        raise ApiError(400, "The client disconnected before sending the whole body.") from None


async def _read_image_bytes(request: Request) -> bytes:
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
        except (ValueError, RecursionError):  # bad JSON or UTF-8, huge integers, deep nesting
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
    return data


@contextmanager
def image_errors_as_api_errors() -> Iterator[None]:
    """An unreadable image becomes an ``ApiError`` with the status of its kind of problem."""
    try:
        yield
    except ImageError as error:
        raise ApiError(STATUS_OF_IMAGE_ERROR.get(type(error), 400), str(error)) from None


def predict_image(model: Sequential, data: bytes) -> Prediction:
    """Read the digit in image bytes."""
    with image_errors_as_api_errors():
        reading = read_digit(model, io.BytesIO(data), name="The image", max_pixels=MAX_PIXELS)
    return Prediction(
        digit=int(reading.digits[0]),
        probabilities=[round(float(p), 6) for p in reading.probabilities[0]],
        input28=reading.inputs[0].tolist(),
    )


def explain_image(model: Sequential, data: bytes) -> Response:
    """Every layer's output and the saliency for the digit in image bytes, as a JSON answer."""
    with image_errors_as_api_errors():
        explanation = explain_digit(
            model, io.BytesIO(data), name="The image", max_pixels=MAX_PIXELS
        )
    return Response(explanation_json(explanation), media_type="application/json")


def model_info(model: Sequential, name: str) -> ModelInfo:
    metadata = model.metadata
    return ModelInfo(
        name=name,
        architecture=[repr(layer) for layer in model.layers],
        parameters=sum(param.size for _, param, _ in model.parameters()),
        classes=model.output_size((28, 28)),
        preset=metadata.get("preset"),
        training_data=(metadata.get("data") or {}).get("source"),
        test_accuracy=(metadata.get("metrics") or {}).get("test_accuracy"),
    )


def add_error_handlers(app: FastAPI) -> None:
    """Every error, ours or the framework's (404, 405, bad parameters), answers JSON."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse({"error": error.message}, error.status)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, error.status_code, error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        return JSONResponse({"error": f"Invalid request: {first.get('msg', error)}."}, 400)


def create_app(model: Sequential, name: str, hosts: Sequence[str] = ()) -> FastAPI:
    """The web application serving ``model`` (called ``name`` on the page).

    It answers to the local names (127.0.0.1, localhost, ::1) and to ``hosts``; no interactive
    docs page (it would load scripts from elsewhere), the schema is at ``/openapi.json``.
    """
    app = FastAPI(
        title="barenet",
        version=__version__,
        description="Read handwritten digits with a NumPy neural network.",
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(BodySizeLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(RequestGuard, hosts=hosts)  # added last: it runs first
    info = model_info(model, name)
    # One thread reads every image, one at a time: layers cache their inputs in forward(), and
    # decoding the largest image peaks near 330 MB, which one thread reuses where many threads
    # each kept their own (measured: 16 concurrent 16 MP uploads, 2.7 GB then, 0.5 GB now).
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="barenet-reader")
    static = resources.files("barenet.web") / "static"
    add_error_handlers(app)

    @app.post(
        "/api/predict", response_model=Prediction, responses=ERRORS, openapi_extra=PREDICT_BODY
    )
    async def predict(request: Request) -> Prediction:
        """Read the digit in an image: JSON ``{"image": ...}`` or a multipart ``file``."""
        data = await image_bytes(request)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(reader, predict_image, model, data)

    @app.post(
        "/api/explain",
        response_model=None,
        responses={200: {"model": ExplainAnswer}, **ERRORS},
        openapi_extra=PREDICT_BODY,
    )
    async def explain(request: Request) -> Response:
        """What each layer computes for the digit in an image, and the saliency of the answer:
        the same body as ``/api/predict``."""
        data = await image_bytes(request)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(reader, explain_image, model, data)

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

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:  # asked for by browsers and tools that ignore <link>
        return FileResponse(str(static / "favicon.svg"), media_type="image/svg+xml")

    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app
