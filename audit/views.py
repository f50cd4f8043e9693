from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import render

from audit.events import EventType
from audit.selectors import audit_chain_verify, audit_event_list
from config.converters import parse_id


@login_required
@permission_required("audit.view_auditevent", raise_exception=True)
def audit_event_list_view(request):
    code = request.GET.get("event", "")
    number = parse_id(code)
    event = number if number in EventType._value2member_map_ else None
    events = audit_event_list(event=event, object_type=request.GET.get("object_type", ""))
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/event_list.html",
        {"page": page, "event": event, "event_types": list(EventType)},
    )


@login_required
@permission_required("audit.view_auditevent", raise_exception=True)
def audit_verify_view(request):
    report = audit_chain_verify()
    unanchored = report.checked - report.checkpoints[-1].sequence if report.checkpoints else None
    return render(request, "audit/verify.html", {"report": report, "unanchored": unanchored})
