"""What every back-office view shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.forms import Form
from django.http import HttpResponse

from config.errors import DomainError


def show_domain_error(
    request, form: Form | None, error: DomainError, field_map: dict | None = None
) -> None:
    """Put a service's error on the form fields it names, or as a message when it names none."""
    field_map = field_map or {}
    placed = False
    if form is not None:
        for item in error.errors:
            name = field_map.get(item.field, item.field)
            if name in form.fields:
                form.add_error(name, item.message)
                placed = True
            elif item.field:
                form.add_error(None, f"{item.field}: {item.message}")
                placed = True
    if not placed:
        messages.error(request, error.message)


T = TypeVar("T")


def button(
    request,
    action: Callable[[], T],
    *,
    done: Callable[[T], str] | str,
    back: HttpResponse,
) -> HttpResponse:
    """A back-office button: run `action` (one service call); say what it did (`done`, given
    its result) or why it could not (the service's error, as show_domain_error puts it), and
    go `back` to the page it was pressed on."""
    try:
        result: Any = action()
    except DomainError as error:
        show_domain_error(request, None, error)
    else:
        messages.success(request, done(result) if callable(done) else done)
    return back
