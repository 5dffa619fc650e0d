"""The OpenAPI description of the OpenAI-compatible endpoints (``/v1/``), served at
``/api/schema/openai/`` beside the native API's and listed on ``/api/docs/``.

The views are plain async Django views answering in OpenAI's shape, which drf-spectacular
cannot read, so the description is written here. Its limits and choices come from the input
serializers (``inputs.py``) and the catalog, so they cannot drift from what the server checks;
the contract tests run schemathesis against it on a live server.
"""

from functools import cache
from typing import Any

from django.conf import settings
from rest_framework import serializers

from generations.catalog import MAX_REFERENCE_IMAGES, list_models
from generations.openai_compat.inputs import ImagesGenerationsInput, ImagesInput

JSON = "application/json"
ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _field_schema(field: serializers.Field) -> dict[str, Any]:
    """One ``ImagesInput`` field as JSON Schema: type, bounds, choices, default."""
    if isinstance(field, serializers.ChoiceField):
        schema: dict[str, Any] = {"type": "string", "enum": list(field.choices)}
    elif isinstance(field, serializers.BooleanField):
        schema = {"type": "boolean"}
    elif isinstance(field, serializers.IntegerField):
        schema = {"type": "integer"}
        if field.min_value is not None:
            schema["minimum"] = field.min_value
        if field.max_value is not None:
            schema["maximum"] = field.max_value
    elif isinstance(field, serializers.FloatField):
        schema = {"type": "number"}
    elif isinstance(field, serializers.CharField):
        schema = {"type": "string"}
        if not field.allow_blank:
            schema["minLength"] = 1
        if field.max_length is not None:
            schema["maxLength"] = field.max_length
    else:
        raise TypeError(f"No schema for {type(field).__name__}; describe it in openai_schema().")
    if field.allow_null:
        schema["type"] = [schema["type"], "null"]
    default = field.default
    if default is not serializers.empty and not callable(default) and default is not None:
        schema["default"] = default
    return schema


DESCRIPTIONS = {
    "model": "A catalog id (GET /v1/models) or a provider's name for it, any case; default "
    "seedream-4.0.",
    "prompt": "What to draw.",
    "n": "How many images (the model decides up to n with sequential_image_generation auto).",
    "size": 'auto, a tier such as "2K", or WIDTHxHEIGHT such as "2048x1536"; what each model '
    "takes is in GET /api/v1/models.",
    "response_format": "url: signed, expiring links; b64_json: the image bytes in the reply.",
    "user": "Your own label for the end user; recorded, not used.",
    "seed": "Same seed, same prompt: a similar image (models that take a seed).",
    "guidance_scale": "How closely to follow the prompt (models that take it).",
    "aspect_ratio": 'With a tier size, e.g. "16:9".',
    "output_format": "jpeg or png, on models that offer a choice.",
    "watermark": "Accepted for compatibility; whether images carry the provider's watermark is "
    "set per provider account by staff.",
    "sequential_image_generation": "auto: a group of up to n related images; disabled: one.",
}


def _input_properties(serializer: serializers.Serializer, *, form: bool) -> dict[str, Any]:
    properties = {}
    for name, field in serializer.fields.items():
        if name == "image":
            continue  # references: described by each operation
        schema = _field_schema(field)
        if form and isinstance(schema["type"], list):
            # A form has no null: the field is left out (or sent empty) for none.
            schema["type"] = schema["type"][0]
        properties[name] = {**schema, "description": DESCRIPTIONS.get(name, "")}
    properties["model"]["examples"] = [model.id for model in list_models()]
    return properties


def _reference_schema() -> dict[str, Any]:
    return {
        "oneOf": [
            {
                "type": "string",
                "pattern": r"\S",
                "description": "An https:// URL of an image or a data: URI.",
            },
            {
                "type": "object",
                "properties": {"upload_id": {"type": "string", "format": "uuid"}},
                "required": ["upload_id"],
                "additionalProperties": False,
                "description": "An upload made with POST /api/v1/uploads.",
            },
        ]
    }


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": ERROR_REF}}}


def _errors(*statuses: int) -> dict[str, Any]:
    descriptions = {
        400: "Invalid request; `param` names the field.",
        401: "Missing or invalid API key.",
        402: "Not enough credits (`type` insufficient_quota).",
        404: "Unknown model (`code` model_not_found).",
        405: "Method not allowed.",
        409: "The Idempotency-Key was used with another request.",
        413: "The request body is larger than this endpoint accepts.",
        429: "Too many requests; see Retry-After.",
        502: "The provider failed the generation; nothing was charged for missing images.",
        504: "The images were not ready in time; they are kept (GET /api/v1/generations/{id}).",
    }
    return {str(status): _error_response(descriptions[status]) for status in statuses}


def _images_operation(
    *, operation_id: str, summary: str, description: str, body: dict[str, Any]
) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["images"],
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": 255},
                "description": "Retrying with the same key and body answers the same "
                "generation, charged once.",
            }
        ],
        "requestBody": {"required": True, "content": body},
        "responses": {
            "200": {
                "description": "The images, in OpenAI's shape.",
                "content": {JSON: {"schema": {"$ref": "#/components/schemas/ImagesResponse"}}},
            },
            **_errors(400, 401, 402, 404, 405, 409, 413, 429, 502, 504),
        },
    }


@cache
def openai_schema() -> dict[str, Any]:
    generations_body = {
        "type": "object",
        "properties": {
            **_input_properties(ImagesGenerationsInput(), form=False),
            "image": {
                "oneOf": [
                    _reference_schema(),
                    {
                        "type": "array",
                        "items": _reference_schema(),
                        "maxItems": MAX_REFERENCE_IMAGES,
                    },
                    {"type": "null"},
                ],
                "description": "Reference image(s) for an edit or a group, in order.",
            },
        },
        "required": ["prompt"],
    }
    edits_body = {
        "type": "object",
        "properties": {
            **_input_properties(ImagesInput(), form=True),
            "image": {
                "type": "string",
                "format": "binary",
                "description": "The image file to edit; send several as repeated `image` (or "
                f"`image[]`) parts, at most {MAX_REFERENCE_IMAGES}, in order.",
            },
        },
        "required": ["prompt", "image"],
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Seedream Studio: OpenAI-compatible Images API",
            "version": "1",
            "description": "The OpenAI Images API (and the Seedream extensions of the Ark "
            "dialect) over the same generations, credits and keys as the native API: point an "
            "OpenAI SDK at this server's /v1/ with your API key. A call waits for the images "
            f"(at most {settings.OPENAI_WAIT_TIMEOUT_S:.0f} s). Every error answers "
            '`{"error": {"message", "type", "param", "code"}}`.',
        },
        "paths": {
            "/v1/images/generations": {
                "post": _images_operation(
                    operation_id="images_generations",
                    summary="Create images",
                    description="From a prompt, or from reference images given as `image`.",
                    body={JSON: {"schema": generations_body}},
                )
            },
            "/v1/images/edits": {
                "post": _images_operation(
                    operation_id="images_edits",
                    summary="Edit images",
                    description="From uploaded image files and a prompt. `mask` is refused: "
                    "Seedream models take the change from the prompt.",
                    body={"multipart/form-data": {"schema": edits_body}},
                )
            },
            "/v1/models": {
                "get": {
                    "operationId": "models_list",
                    "summary": "List models",
                    "tags": ["models"],
                    "responses": {
                        "200": {
                            "description": "The catalog's models.",
                            "content": {
                                JSON: {"schema": {"$ref": "#/components/schemas/ModelList"}}
                            },
                        },
                        **_errors(401, 405, 429),
                    },
                }
            },
        },
        "security": [{"ApiKeyBearer": []}],
        "components": {
            "securitySchemes": {
                "ApiKeyBearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "sds_<prefix>_<secret>",
                    "description": "An API key created on /account/keys/.",
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {
                                "message": {"type": "string"},
                                "type": {"type": "string"},
                                "param": {"type": ["string", "null"]},
                                "code": {"type": ["string", "null"]},
                            },
                            "required": ["message", "type", "param", "code"],
                        }
                    },
                    "required": ["error"],
                },
                "ImagesResponse": {
                    "type": "object",
                    "properties": {
                        "created": {"type": "integer"},
                        "data": {
                            "type": "array",
                            "items": {
                                "oneOf": [
                                    {
                                        "type": "object",
                                        "properties": {"url": {"type": "string", "format": "uri"}},
                                        "required": ["url"],
                                    },
                                    {
                                        "type": "object",
                                        "properties": {"b64_json": {"type": "string"}},
                                        "required": ["b64_json"],
                                    },
                                ]
                            },
                        },
                        "usage": {
                            "type": "object",
                            "properties": {
                                "generated_images": {"type": "integer"},
                                "credits_charged": {"type": "integer"},
                                "input_tokens": {"type": "integer"},
                                "output_tokens": {"type": "integer"},
                                "total_tokens": {"type": "integer"},
                            },
                            "required": ["generated_images", "credits_charged"],
                        },
                    },
                    "required": ["created", "data", "usage"],
                },
                "ModelList": {
                    "type": "object",
                    "properties": {
                        "object": {"type": "string", "enum": ["list"]},
                        "data": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "string"},
                                    "object": {"type": "string", "enum": ["model"]},
                                    "created": {"type": "integer"},
                                    "owned_by": {"type": "string"},
                                },
                                "required": ["id", "object", "created", "owned_by"],
                            },
                        },
                    },
                    "required": ["object", "data"],
                },
            },
        },
    }
