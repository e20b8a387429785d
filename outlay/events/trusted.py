"""Building model instances from values that are already final, without pydantic's validation.

For hot paths only, where the caller made every value itself, of its field's type, and in the model's
field order (the JSON encoder writes fields in the instance dict's order). What `BaseModel.model_construct`
sets, without its per-field default and alias handling, which costs more than the values did.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def trusted_instance(model: type[M], values: dict[str, Any], fields_set: set[str]) -> M:
    """An instance of `model` holding `values` (every field, in field order) as they are."""
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", fields_set)
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


def check_trustable(model: type[BaseModel]) -> None:
    """Refuse a model `trusted_instance` would build wrongly (private attributes, a post-init hook)."""
    if model.__private_attributes__ or model.__pydantic_post_init__ is not None:
        raise RuntimeError(f"trusted_instance cannot build {model.__name__}: revisit it")
