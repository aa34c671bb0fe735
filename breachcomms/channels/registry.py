"""The transports named by settings (``BREACHCOMMS_EMAIL_TRANSPORT`` / ``BREACHCOMMS_SMS_TRANSPORT``)."""

from __future__ import annotations

import threading
from typing import Any, cast

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from breachcomms.channels.base import EmailTransport, SmsTransport

_instances: dict[str, Any] = {}
_lock = threading.Lock()


def _instance(dotted_path: str) -> Any:
    # One instance per class and process: SDK clients keep their connection pools between sends.
    with _lock:
        transport = _instances.get(dotted_path)
        if transport is None:
            transport = _instances[dotted_path] = import_string(dotted_path)()
        return transport


def email_transport() -> EmailTransport:
    return cast(EmailTransport, _instance(settings.BREACHCOMMS_EMAIL_TRANSPORT))


def sms_transport() -> SmsTransport:
    return cast(SmsTransport, _instance(settings.BREACHCOMMS_SMS_TRANSPORT))


@receiver(setting_changed)
def _forget_transports(*, setting: str, **kwargs: Any) -> None:
    # Tests that override a provider setting get transports built with the new value.
    if setting.startswith(("BREACHCOMMS_", "SENDGRID_", "TWILIO_")):
        with _lock:
            _instances.clear()
