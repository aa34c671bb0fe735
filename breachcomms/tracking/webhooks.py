"""The provider webhook endpoints: verify the signature, then hand the events to the service.

They are exempt from CSRF because the provider's signature takes its place: nothing is read from an
unsigned request. Answers: 200 when the events were taken (including events of deliveries we do not
know, and repeats); **403** when the signature is missing, malformed, stale or wrong; 400 when a
correctly signed body is not what the provider documents; 503 when the verification key is not
configured (the provider retries later, for up to 24 hours). Refusals are logged with the client address.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from breachcomms.channels import sendgrid, twilio
from breachcomms.channels.base import PayloadError, ProviderEvent, SignatureError
from breachcomms.tracking.services import provider_events_record

logger = logging.getLogger(__name__)


def _refused(provider: str, request: HttpRequest, error: Exception, status: int) -> HttpResponse:
    logger.warning("%s webhook refused (%s) from %s: %s", provider, status, request.META.get("REMOTE_ADDR", "?"), error)
    return HttpResponse(str(status), status=status, content_type="text/plain")


def _not_configured(provider: str, error: Exception) -> HttpResponse:
    logger.error("%s webhook cannot be verified: %s", provider, error)
    return HttpResponse("503", status=503, content_type="text/plain")


@csrf_exempt
@require_POST
def sendgrid_events(request: HttpRequest) -> HttpResponse:
    """SendGrid's signed Event Webhook: a JSON array of events."""
    try:
        events = sendgrid.verify_and_parse(request.body, request.headers)
    except SignatureError as exc:
        return _refused("SendGrid", request, exc, 403)
    except PayloadError as exc:
        return _refused("SendGrid", request, exc, 400)
    except ImproperlyConfigured as exc:
        return _not_configured("SendGrid", exc)
    report = provider_events_record(events=events)
    logger.debug("SendGrid webhook: %s", report)
    return HttpResponse("ok", content_type="text/plain")


def _twilio_urls(request: HttpRequest) -> list[str]:
    """The URLs Twilio may have signed: our public address (what the status callback names), then this one."""
    public = urlsplit(settings.BREACHCOMMS_PUBLIC_BASE_URL)
    urls = [f"{public.scheme}://{public.netloc}{request.get_full_path()}", request.build_absolute_uri()]
    return list(dict.fromkeys(urls))


def _twilio_event(request: HttpRequest) -> ProviderEvent:
    error: SignatureError | None = None
    for url in _twilio_urls(request):
        try:
            return twilio.verify_and_parse(url, request.POST, request.headers)
        except SignatureError as exc:
            error = exc
    assert error is not None
    raise error


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    """Twilio's signed message status callback (form-encoded)."""
    try:
        event = _twilio_event(request)
    except SignatureError as exc:
        return _refused("Twilio", request, exc, 403)
    except PayloadError as exc:
        return _refused("Twilio", request, exc, 400)
    report = provider_events_record(events=[event])
    logger.debug("Twilio status callback: %s", report)
    return HttpResponse("ok", content_type="text/plain")
