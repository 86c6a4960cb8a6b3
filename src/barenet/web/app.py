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
import functools
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from barenet.datasets import DataError
from barenet.digits.detector import is_digit
from barenet.digits.folders import image_files, save_correction
from barenet.digits.imaging import (
    BlankImageError,
    ImageError,
    ImageTooLargeError,
    NotAnImageError,
    open_grayscale,
    to_mnist,
)
from barenet.digits.reading import explain_digit, read_digit
from barenet.model import Sequential
from barenet.version import __version__
from barenet.web.guards import RequestGuard
from barenet.web.inside import explanation_json
from barenet.web.limits import MAX_BODY_BYTES, BodySizeLimit
from barenet.web.schemas import (
    ERRORS,
    PREDICT_BODY,
    Correction,
    ExplainAnswer,
    ModelInfo,
    Prediction,
)

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
        if not data:
            raise ApiError(400, "The image is empty.")
        return data
    if content_type == "application/json":
        return json_image(json_body(await request.body()))
    raise ApiError(415, 'Send JSON {"image": "<data URL>"} or a multipart/form-data file upload.')


def json_body(body: bytes) -> object:
    """The JSON value of a request body, or a 400."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # bad JSON or UTF-8, huge integers, deep nesting
        raise ApiError(400, "The body is not valid JSON.") from None


def json_image(payload: object) -> bytes:
    """The image bytes of a JSON body ``{"image": "<data URL or base64>", ...}``."""
    if not isinstance(payload, dict) or not isinstance(payload.get("image"), str):
        raise ApiError(400, 'The JSON must be an object {"image": "<data URL or base64>"}.')
    data = decode_base64_image(payload["image"])
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


def save_image(folder: Path, digit: int, data: bytes) -> Correction:
    """Save image bytes that hold ink as ``folder/DIGIT/NAME.png``."""
    with image_errors_as_api_errors():
        gray = open_grayscale(io.BytesIO(data), MAX_PIXELS, name="The image")
        to_mnist(gray, name="The image")  # a blank image teaches nothing: 422 as for predict
    try:
        path = save_correction(folder, digit, gray)
    except DataError as error:
        raise ApiError(409, str(error)) from None
    except OSError as error:
        reason = error.strerror or str(error)  # the system's reason, or barenet's sentence
        raise ApiError(409, f"Cannot save into {folder}: {reason.rstrip('.')}.") from None
    count = len(image_files(folder))
    return Correction(saved=str(path.relative_to(folder)), folder=str(folder), count=count)


def correction_digit(payload: object) -> int:
    """The ``digit`` of a correction's JSON: an integer 0 to 9."""
    digit = payload.get("digit") if isinstance(payload, dict) else None
    if isinstance(digit, bool) or not isinstance(digit, int) or not 0 <= digit <= 9:
        raise ApiError(400, 'The JSON must say which digit it was: {"image": ..., "digit": 0-9}.')
    return digit


def predict_image(model: Sequential, data: bytes) -> Prediction:
    """Read the digit in image bytes."""
    with image_errors_as_api_errors():
        reading = read_digit(model, io.BytesIO(data), name="The image", max_pixels=MAX_PIXELS)
    assert reading.is_digit is not None  # read_digit checks by default
    return Prediction(
        digit=int(reading.digits[0]),
        probabilities=[round(float(p), 6) for p in reading.probabilities[0]],
        input28=reading.inputs[0].tolist(),
        is_digit=bool(reading.is_digit[0]),
    )


def explain_image(model: Sequential, data: bytes) -> Response:
    """Every layer's output and the saliency for the digit in image bytes, as a JSON answer."""
    with image_errors_as_api_errors():
        explanation = explain_digit(
            model, io.BytesIO(data), name="The image", max_pixels=MAX_PIXELS
        )
    verdict = bool(is_digit(explanation.inputs)[0])
    return Response(explanation_json(explanation, verdict), media_type="application/json")


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


def pick_model(models: Mapping[str, Sequential], default: str, name: str | None) -> Sequential:
    """The served model called ``name`` (``?model=``), ``default`` without one; else a 404."""
    if name is None:
        return models[default]
    if name not in models:
        raise ApiError(404, f"No model {name!r} here. Expected one of: {', '.join(models)}.")
    return models[name]


def create_app(
    model: Sequential,
    name: str,
    hosts: Sequence[str] = (),
    *,
    others: Mapping[str, Sequential] | None = None,
    my_digits: Path | None = None,
) -> FastAPI:
    """The web application serving ``model`` (called ``name`` on the page), and ``others`` the
    page can switch to (``?model=NAME`` on the API); corrections are saved into ``my_digits``
    (none are without it).

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
    models = {name: model, **(others or {})}
    infos = [model_info(each, each_name) for each_name, each in models.items()]
    # One thread reads every image, one at a time: layers cache their inputs in forward(), and
    # decoding the largest image allowed takes hundreds of MB, which one thread reuses where many
    # threads would each keep their own (see benchmarks/engine-timings.md).
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="barenet-reader")
    add_error_handlers(app)

    chosen = functools.partial(pick_model, models, name)

    @app.post(
        "/api/predict", response_model=Prediction, responses=ERRORS, openapi_extra=PREDICT_BODY
    )
    async def predict(request: Request, model: str | None = None) -> Prediction:
        """Read the digit in an image: JSON ``{"image": ...}`` or a multipart ``file``;
        ``?model=NAME`` picks one of the served models."""
        reading_model = chosen(model)
        data = await image_bytes(request)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(reader, predict_image, reading_model, data)

    @app.post(
        "/api/explain",
        response_model=None,
        responses={200: {"model": ExplainAnswer}, **ERRORS},
        openapi_extra=PREDICT_BODY,
    )
    async def explain(request: Request, model: str | None = None) -> Response:
        """What each layer computes for the digit in an image, and the saliency of the answer:
        the same body as ``/api/predict``."""
        reading_model = chosen(model)
        data = await image_bytes(request)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(reader, explain_image, reading_model, data)

    add_correction_route(app, reader, my_digits)
    add_page_routes(app, infos)
    return app


def add_correction_route(app: FastAPI, reader: ThreadPoolExecutor, folder: Path | None) -> None:
    """``POST /api/corrections``, saving into ``folder`` (a 404 without one) on ``reader``."""

    @app.post("/api/corrections", status_code=201, response_model=Correction, responses=ERRORS)
    async def correct(request: Request) -> Correction:
        """Save a misread drawing under the digit it really is: JSON ``{"image": "<data URL>",
        "digit": 0-9}`` into the server's folder of a person's digits, ``DIGIT/NAME.png``."""
        if folder is None:
            raise ApiError(404, "This server saves no corrections: start it with --my-digits.")
        payload = json_body(await request.body())
        digit, data = correction_digit(payload), json_image(payload)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(reader, save_image, folder, digit, data)


def add_page_routes(app: FastAPI, infos: list[ModelInfo]) -> None:
    """The page, its files, the models' descriptions and the health check."""
    static = resources.files("barenet.web") / "static"

    @app.get("/api/model", response_model=ModelInfo)
    async def get_model() -> ModelInfo:
        """The model being served by default: its layers, training data and test accuracy."""
        return infos[0]

    @app.get("/api/models", response_model=list[ModelInfo])
    async def get_models() -> list[ModelInfo]:
        """Every model served, the default first."""
        return infos

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
