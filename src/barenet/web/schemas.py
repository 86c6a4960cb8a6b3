"""The shapes of the API's requests and answers, for FastAPI's checks and the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class PredictRequest(BaseModel):
    image: str = Field(description="A data URL (data:image/png;base64,...) or base64 PNG/JPEG.")


class Prediction(BaseModel):
    digit: int = Field(description="The most probable class.")
    probabilities: list[float] = Field(description="One probability per class, summing to 1.")
    input28: list[list[int]] = Field(description="The 28x28 grey levels (0-255) the model saw.")
    is_digit: bool = Field(
        description="Whether the digit detector takes it for a digit at all (false for letters, "
        "shapes, scribbles, dots, smudges); digit is then only the closest class."
    )


class LayerView(BaseModel):
    name: str = Field(description='The layer, e.g. "Conv2D(1->32, 5x5)".')
    kind: str = Field(description='Its class, e.g. "Conv2D".')
    shape: list[int] = Field(description="The shape of its output for one image.")
    values: Any = Field(description="Its output: nested lists of floats of that shape.")
    config: dict[str, Any] = Field(description="The arguments that build the layer.")
    parameters: dict[str, list[float]] = Field(
        description="Per-unit parameters and statistics (bias, batch norm's), by name."
    )
    top_units: list[dict[str, Any]] | None = Field(
        None,
        description="For a dense layer over the 784 pixels: the units that fired most, each "
        "with its value and its weights as a 28x28 image.",
    )


class ExplainAnswer(Prediction):
    target: int = Field(description="The class whose score the saliency differentiates.")
    score: float = Field(description="That class's score (its logit).")
    layers: list[LayerView] = Field(description="Every layer's output, input to output.")
    saliency: list[list[float]] = Field(
        description="d score / d pixel for the 28x28 input: where ink would change the answer."
    )


class ModelInfo(BaseModel):
    name: str
    architecture: list[str] = Field(description="The layers, input to output.")
    parameters: int
    classes: int
    preset: str | None
    training_data: str | None
    test_accuracy: float | None


class Correction(BaseModel):
    saved: str = Field(description="Where the image was saved in the folder: DIGIT/NAME.png.")
    folder: str = Field(description="The folder of the person's digits.")
    count: int = Field(description="How many images the folder holds now.")


class ErrorMessage(BaseModel):
    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorMessage, "description": description}
    for status, description in [
        (400, "Malformed JSON or base64, or damaged image data"),
        (404, "No such model (?model=), or corrections are not saved here"),
        (409, "The folder of corrections is full or cannot be written"),
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
