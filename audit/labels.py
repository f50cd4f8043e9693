"""The labels under which the trail names a model's rows.

An event names its object by the model's label (`app_label.model`) at the time it was written,
and events are never rewritten (their hashes chain them). A model that moves to another app
keeps its earlier events under its former label: it lists that label in `former_labels`
(cards.models), and lookups by object or by type search under every label the model had.
"""

from __future__ import annotations

from django.apps import apps


def labels_of_model(model) -> list[str]:
    return [model._meta.label_lower, *getattr(model, "former_labels", ())]


def labels_of_type(object_type: str) -> list[str]:
    """Every label of the model named `object_type` (its current or a former label); just
    `object_type` when no installed model answers to it."""
    for model in apps.get_models():
        labels = labels_of_model(model)
        if object_type in labels:
            return labels
    return [object_type]
